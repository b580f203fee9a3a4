"""template.yaml's operations section (issue 15): the dashboard names only metrics the code emits, every
dead-letter queue and each failure condition has an alarm that says what to do and notifies the alert
topic, and the topic can be published to (encrypted with a key the publishers may use).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from seam.domain.costing import TASK_MEMORY_MB
from seam.domain.settlement import Settlement
from seam.domain.starting import TriggerOutcome
from seam.models.run import Evaluation, RunStatus

from tests.template.test_template import _dead_letter_queues, _ref_id, cfn, load_raw, raw, resources

__all__ = ["cfn", "raw"]  # fixtures: the template as written and after the SAM transform

REPO = Path(__file__).resolve().parents[2]
CODE = [*sorted((REPO / "functions").glob("*/app.py")), *sorted((REPO / "layers/seam/seam").rglob("*.py"))]
TOPIC = {"Ref": "AlertTopic"}
SERVICE = frozenset({"service"})
PER_MODEL = frozenset({"model", "service"})

# The f-string metric names in the code, with every value they take. A new f-string name fails
# test_every_metric_name_in_the_code_is_known until it is listed here.
TEMPLATED_NAMES = {
    "Run{result['status'].title()}": [f"Run{s.value.title()}" for s in RunStatus if s.terminal],
    "Trigger_{outcome.value}": [f"Trigger_{o.value}" for o in TriggerOutcome],
    "Evaluation_{result.decision}": [
        f"Evaluation_{d}" for d in get_args(Evaluation.model_fields["decision"].annotation)
    ],
    "Training_{outcome.value}": [f"Training_{s.value}" for s in Settlement],
}
# What the code emits per model (seam.observability.record_run_ended, and the trigger's count(..., model=)).
STATES = [s.value for s in RunStatus if not s.terminal]
PER_MODEL_NAMES = {
    "TrainingBillableSeconds",
    "RunCostUSD",
    *(f"Run{s.value.title()}" for s in RunStatus if s.terminal),
    *(f"TimeIn_{state}" for state in STATES),
    *TEMPLATED_NAMES["Trigger_{outcome.value}"],
}
# AWS metrics the dashboard and alarms may use, with the dimension that names a stack resource.
AWS_METRICS = {
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible"}, "QueueName"),
    "AWS/States": ({"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}, "StateMachineArn"),
    "AWS/Lambda": ({"Errors", "Throttles"}, "FunctionName"),
}
# The resource type a dashboard dimension value (<LogicalId> or <LogicalId.Attribute>) must name.
AWS_RESOURCES = {
    "QueueName": "AWS::SQS::Queue",
    "StateMachineArn": "AWS::Serverless::StateMachine",
    "FunctionName": "AWS::Serverless::Function",
}

_NAME_CALL = re.compile(r"""(?:add_metric\(\s*(?:name=)?|\bcount\()(f?)"([^"]+)\"""")
# The trigger counts a request that can never start by its outcome's type (seam.domain.triggering).
_NOT_STARTED = re.compile(r'NotStarted\(\s*"[^"]*",\s*"([^"]+)"\s*\)')


def code_metric_names() -> tuple[set[str], set[str]]:
    """(literal names, f-string templates) passed to add_metric / count in the functions and the layer."""
    literal, templated = set(), set()
    for path in CODE:
        for is_f, name in _NAME_CALL.findall(path.read_text()):
            (templated if is_f else literal).add(name)
        literal.update(_NOT_STARTED.findall(path.read_text()))
    return literal, templated


def emitted() -> dict[str, set[frozenset[str]]]:
    """Seam namespace metric name -> the dimension sets it is written with."""
    literal, templated = code_metric_names()
    names: dict[str, set[frozenset[str]]] = {}
    for name in literal | {n for t in templated for n in TEMPLATED_NAMES.get(t, [])}:
        names.setdefault(name, set()).add(SERVICE)
    for name in PER_MODEL_NAMES | {"RunFailed"}:
        names.setdefault(name, set()).add(PER_MODEL)
    for f in resources(load_raw(), "AWS::Logs::MetricFilter").values():  # written by CloudWatch Logs
        for t in f["Properties"]["MetricTransformations"]:
            assert t["MetricNamespace"] == "Seam"
            names.setdefault(t["MetricName"], set()).add(frozenset(t.get("Dimensions", {})))
    return names


def render_dashboard() -> tuple[dict[str, Any], set[str]]:
    """The dashboard body with every ${...} replaced by a marker; and the names it substituted."""
    body = load_raw()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    substituted = set(re.findall(r"\$\{([^}]+)\}", body))
    return json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body)), substituted


def dashboard_metrics(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, {dimension: value}) for every metric the widgets name, SEARCH expressions too."""
    found = []
    for widget in body["widgets"]:
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):  # an expression
                for schema, name in re.findall(
                    r"SEARCH\('\{([^}]*)\}[^']*MetricName=\"(\w+)\"", entry[0]["expression"]
                ):
                    namespace, *dims = [part.strip() for part in schema.split(",")]
                    found.append((namespace, name, dict.fromkeys(dims, "*")))
                assert "SEARCH(" in entry[0]["expression"], entry
            else:
                namespace, name, *rest = [e for e in entry if not isinstance(e, dict)]
                found.append((namespace, name, dict(zip(rest[::2], rest[1::2], strict=True))))
    return found


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        return [(props["Namespace"], props["MetricName"], dims)]
    found = []
    for query in props["Metrics"]:
        match = re.fullmatch(r"SELECT \w+\((\w+)\) FROM SCHEMA\((\w+), ([\w, ]+)\).*", query["Expression"])
        assert match, query["Expression"]
        name, namespace, dims = match.groups()
        found.append((namespace, name, dict.fromkeys([d.strip() for d in dims.split(",")], "*")))
    return found


def assert_written(namespace: str, name: str, dims: dict[str, Any], where: str) -> None:
    if namespace == "Seam":
        written = emitted()
        assert name in written, f"{where}: nobody writes Seam/{name}"
        assert frozenset(dims) in written[name], f"{where}: Seam/{name} is not written with {sorted(dims)}"
    else:
        assert namespace in AWS_METRICS, f"{where}: unexpected namespace {namespace}"
        known, dimension = AWS_METRICS[namespace]
        assert name in known and set(dims) == {dimension}, f"{where}: {namespace}/{name} {dims}"


# ---------------------------------------------------------------------------------------------- metrics


def test_every_metric_name_in_the_code_is_known() -> None:
    literal, templated = code_metric_names()
    assert templated <= set(TEMPLATED_NAMES), (
        f"list these f-string metric names: {templated - set(TEMPLATED_NAMES)}"
    )
    assert {"EventsUnmapped", "EventsRejected", "ReconcileDeferred", "OldestLockAgeSeconds"} <= literal


def test_per_model_metrics_are_what_record_run_ended_writes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from seam.observability import count, metrics, record_run_ended

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Seam")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "seam")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capsys.readouterr()
    for status in RunStatus:
        if status.terminal:
            record_run_ended("churn", status.value, dict.fromkeys(STATES, 1.5), 42, {"total_usd": 0.0013})
    for outcome in TriggerOutcome:
        count(f"Trigger_{outcome.value}", model="churn")
    metrics.clear_metrics()  # count() also added the service-level counts to the shared set
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]

    written = set()
    for line in lines:
        (block,) = line["_aws"]["CloudWatchMetrics"]
        assert block["Namespace"] == "Seam" and block["Dimensions"] == [["model", "service"]]
        written |= {m["Name"] for m in block["Metrics"]}
    assert written == PER_MODEL_NAMES | {"RunFailed"}
    failed = [value for line in lines for value in line.get("RunFailed", [])]
    assert sorted(failed) == [0.0] * (len([s for s in RunStatus if s.terminal]) - 1) + [1.0]


def test_the_dashboard_names_only_metrics_the_code_emits(cfn: dict[str, Any]) -> None:
    body, substituted = render_dashboard()
    named = dashboard_metrics(body)
    assert len(named) >= 30
    for namespace, name, dims in named:
        assert_written(namespace, name, dims, "dashboard")
    raw = load_raw()
    for namespace, name, dims in named:
        if namespace.startswith("AWS/"):  # the dimension names a resource of this stack
            ((dimension, value),) = dims.items()
            logical = re.fullmatch(r"<(\w+)(?:\.QueueName)?>", value)
            assert logical, (namespace, name, value)
            assert raw["Resources"][logical[1]]["Type"] == AWS_RESOURCES[dimension], (name, value)
    functions = {f"<{lid}>" for lid in resources(raw, "AWS::Serverless::Function")}
    for metric in ("Errors", "Throttles"):
        assert {d["FunctionName"] for _, n, d in named if n == metric} == functions, metric
    names = {name for _, name, _ in named}
    # What the issue asks to see.
    assert {f"Run{s}" for s in ("Deployed", "Rejected", "Skipped", "Failed")} | {"Trigger_started"} <= names
    assert {f"TimeIn_{state}" for state in STATES} <= names
    assert {"ReconcileDeferred", "ReconcileFailures", "TrainingChecksSent", "TrainingJobsStopped"} <= names
    assert {"EventsUnmapped", "EventsRejected", "Errors", "Throttles", "FinalizeFailed"} <= names
    assert {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} <= names
    # Every DLQ's depth, and every ${...} names a real resource (or a pseudo parameter / parameter).
    assert {f"{q}.QueueName" for q in _dead_letter_queues(cfn)} <= substituted
    for name in substituted:
        logical = name.split(".")[0]
        assert logical.startswith("AWS::") or logical in raw["Resources"] or logical in raw["Parameters"], (
            name
        )


# ---------------------------------------------------------------------------------------------- alarms


def test_every_alarm_says_what_to_do_and_notifies_the_topic() -> None:
    raw = load_raw()
    alarms = resources(raw, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 12
    for lid, alarm in alarms.items():
        props = alarm["Properties"]
        assert len(props["AlarmDescription"]) >= 150, f"{lid}: say what happened and what to do"
        assert props["AlarmActions"] == [TOPIC], lid
        # The topic policy admits alarms named seam-<stage>-*.
        assert props["AlarmName"]["Fn::Sub"].startswith("seam-${Stage}-"), lid
        for namespace, name, dims in alarm_metrics(alarm):
            assert_written(namespace, name, dims, lid)


def test_every_dead_letter_queue_has_an_alarm_when_not_empty(cfn: dict[str, Any]) -> None:
    watched = {}
    for lid, alarm in resources(cfn, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if props.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            (dimension,) = props["Dimensions"]
            assert dimension["Value"]["Fn::GetAtt"][1] == "QueueName"
            assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold"), lid
            watched[dimension["Value"]["Fn::GetAtt"][0]] = lid
    dlqs = _dead_letter_queues(cfn)  # after the transform: SAM's schedule names the reconciler's DLQ
    assert {"TriggerDeadLetterQueue", "CallbackDeadLetterQueue", "ReconcilerDeadLetterQueue"} <= dlqs
    assert "AlertDeadLetterQueue" in dlqs
    assert dlqs == set(watched)


def test_each_failure_condition_has_its_alarm() -> None:
    raw = load_raw()
    by_metric = {
        name: alarm["Properties"]
        for alarm in resources(raw, "AWS::CloudWatch::Alarm").values()
        for _, name, _ in alarm_metrics(alarm)
    }
    for name in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted", "FinalizeFailed"):
        assert by_metric[name]["Threshold"] == 0, name
    deferred = by_metric["ReconcileDeferred"]  # on consecutive sweeps (one every 5 minutes)
    assert deferred["Period"] == 300 and deferred["EvaluationPeriods"] == deferred["DatapointsToAlarm"] == 2
    assert by_metric["ReconcileFailures"]["Threshold"] == 0
    lock = by_metric["OldestLockAgeSeconds"]
    assert (lock["Statistic"], lock["Threshold"]) == ("Maximum", {"Ref": "LockAgeAlarmSeconds"})
    failing = by_metric["RunFailed"]  # per model (GROUP BY model: one contributor each), every run failed
    assert failing["Metrics"][0]["Expression"].endswith("GROUP BY model")
    assert failing["EvaluationPeriods"] == failing["DatapointsToAlarm"] == {"Ref": "FailedRunsAlarmPeriods"}
    assert (failing["Threshold"], failing["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    # PutMetricAlarm refuses a Metrics Insights alarm that would look back more than 3 hours.
    most_periods = raw["Parameters"]["FailedRunsAlarmPeriods"]["MaxValue"]
    assert failing["Metrics"][0]["Period"] * most_periods <= 3 * 3600


def test_finalize_failed_is_counted_from_the_workflows_fail_state() -> None:
    raw = load_raw()
    asl = json.loads((REPO / "statemachines/retrain_workflow.asl.json").read_text())
    assert asl["States"]["FinalizeFailed"] == {**asl["States"]["FinalizeFailed"], "Type": "Fail"}
    error = asl["States"]["FinalizeFailed"]["Error"]
    (metric_filter,) = resources(raw, "AWS::Logs::MetricFilter").values()
    props = metric_filter["Properties"]
    assert props["LogGroupName"] == {"Ref": "RetrainWorkflowLogGroup"}
    logging = raw["Resources"]["RetrainWorkflow"]["Properties"]["Logging"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", False)  # no task tokens in logs
    # Without execution data a log event has no error: the Fail state's name (state == its error) counts.
    assert error == "FinalizeFailed"
    assert props["FilterPattern"] == '{ $.type = "FailStateEntered" && $.details.name = "FinalizeFailed" }'
    assert props["MetricTransformations"][0]["MetricName"] == "FinalizeFailed"


# ---------------------------------------------------------------------------------------------- the topic


def test_the_topic_is_encrypted_with_a_key_its_publishers_may_use() -> None:
    raw = load_raw()
    topic = raw["Resources"]["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertTopicKey"}
    key = raw["Resources"]["AlertTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (publishers,) = [s for s in key["KeyPolicy"]["Statement"] if s["Sid"] == "AlarmsAndRulesPublish"]
    assert set(publishers["Principal"]["Service"]) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    assert set(publishers["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert publishers["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}

    policy = raw["Resources"]["AlertTopicPolicy"]["Properties"]
    assert policy["Topics"] == [TOPIC]
    statements = {s["Principal"]["Service"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    rule = statements["events.amazonaws.com"]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert _ref_id(rule) == "RunOutcomeRule"
    alarms = statements["cloudwatch.amazonaws.com"]["Condition"]
    assert alarms["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(":alarm:seam-${Stage}-*")
    assert alarms["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert all(s["Action"] == "sns:Publish" and s["Resource"] == TOPIC for s in statements.values())


@pytest.mark.parametrize(
    ("address", "accepted"),
    [
        ("", True),
        ("ops@example.com", True),
        ("team.ml+seam@corp.example.co.uk", True),
        ("not-an-email", False),
        ("ops@example", False),
        ("two words@example.com", False),
        ("a@b.com,c@d.com", False),
    ],
)
def test_alert_email_parameter_accepts_one_address_or_nothing(address: str, accepted: bool) -> None:
    parameter = load_raw()["Parameters"]["AlertEmail"]
    # CloudFormation matches AllowedPattern against the whole value.
    assert bool(re.fullmatch(parameter["AllowedPattern"], address)) is accepted
    assert "AlertEmail" in parameter["ConstraintDescription"]


def test_the_email_subscription_exists_only_with_an_address() -> None:
    raw = load_raw()
    subscription = raw["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert raw["Conditions"]["HasAlertEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]}
    assert subscription["Properties"] == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": {"Ref": "AlertEmail"},
    }


# ---------------------------------------------------------------------------------------------- cost


def test_every_function_has_the_memory_finalize_charges_each_workflow_task_with() -> None:
    """seam.domain.costing.CostMeter prices a workflow task at Finalize's own memory size (the Globals
    MemorySize), or at TASK_MEMORY_MB's for the states whose function sets its own."""
    raw = load_raw()
    assert raw["Globals"]["Function"]["MemorySize"] == 256
    own = {f"{state}Function": memory for state, memory in TASK_MEMORY_MB.items()}
    for name, function in resources(raw, "AWS::Serverless::Function").items():
        assert function["Properties"].get("MemorySize") == own.get(name), name
