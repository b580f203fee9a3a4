"""template.yaml: linters, a real `sam build`, and properties of the transformed (CloudFormation) template.

The property checks run on the template as CloudFormation will see it: the SAM transform is applied in
process with aws-sam-translator, so generated roles, event source mappings and schedules are checked too.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from seam.domain.training_limits import RECONCILER_PERIOD_SECONDS

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAM = REPO / ".venv-sam" / "bin" / "sam"
REGION = "us-east-1"

# Logical id -> (folder under functions/, kebab name in seam-<stage>-<kebab>)
FUNCTIONS = {
    "TriggerFunction": ("trigger", "trigger"),
    "ValidateFunction": ("validate", "validate"),
    "LaunchTrainingFunction": ("launch_training", "launch-training"),
    "ScoreChampionFunction": ("score_champion", "score-champion"),
    "TrainingCallbackFunction": ("training_callback", "training-callback"),
    "ReconcilerFunction": ("reconciler", "reconciler"),
    "EvaluateFunction": ("evaluate", "evaluate"),
    "RegisterFunction": ("register", "register"),
    "DeployFunction": ("deploy", "deploy"),
    "CheckRolloutFunction": ("check_rollout", "check-rollout"),
    "RollbackFunction": ("rollback", "rollback"),
    "FinalizeFunction": ("finalize", "finalize"),
}
WORKFLOW_FUNCTIONS = [
    "ValidateFunction",
    "ScoreChampionFunction",
    "LaunchTrainingFunction",
    "EvaluateFunction",
    "RegisterFunction",
    "DeployFunction",
    "CheckRolloutFunction",
    "RollbackFunction",
    "FinalizeFunction",
]
ENVIRONMENT = {
    "SEAM_STAGE",
    "SEAM_MODELS_TABLE",
    "SEAM_RUNS_TABLE",
    "SEAM_VERSIONS_TABLE",
    "SEAM_TOKENS_TABLE",
    "SEAM_LOCKS_TABLE",
    "SEAM_DATA_BUCKET",
    "SEAM_STATE_MACHINE_ARN",
    "SEAM_EVENT_BUS_NAME",
    "SEAM_SAGEMAKER_ROLE_ARN",
    "SEAM_TRAINING_KEY_ARN",
    "SEAM_ALLOWED_CLUSTERS",
    "SEAM_MODEL_PACKAGE_GROUP_PREFIX",
    "SEAM_TRAINING_STALE_AFTER_SECONDS",
    "SEAM_ROLLOUT_MAX_CHECKS",
    "SEAM_ROLLOUT_WAIT_SECONDS",
    "SEAM_TRIGGER_QUEUE_URL",
    "SEAM_CALLBACK_QUEUE_URL",
    "SEAM_SCHEDULE_SPREAD_SECONDS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "PYDANTIC_DISABLE_PLUGINS",
}
OUTPUTS = {
    "DataBucketName",
    "TriggerQueueUrl",
    "CallbackQueueUrl",
    "StateMachineArn",
    "ModelsTableName",
    "RunsTableName",
    "ModelVersionsTableName",
    "EventBusName",
    "TriggerDeadLetterQueueUrl",
    "CallbackDeadLetterQueueUrl",
    "SageMakerTrainingRoleArn",
    "AlertTopicArn",
    "DashboardName",
}
FOURTEEN_DAYS = 14 * 24 * 3600
POLICY_TYPES = {
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
}


# ---------------------------------------------------------------------------------------------- loading


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags (!Ref, !Sub, ...) into their long form."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_raw() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)


def _with_s3_code(template: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri/ContentUri/DefinitionUri become S3 locations, as `sam package` would make them."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://seam-test-artifacts/{props[key].strip('/')}"
    return template


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_raw()


@pytest.fixture(scope="module")
def cfn(raw: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform (what CloudFormation deploys)."""
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated = translator.translate(
        _with_s3_code(raw),
        parameter_values={"AWS::AccountId": "123456789012"},
        get_managed_policy_map=lambda: {},
    )
    return json.loads(json.dumps(translated))


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


def _ref_id(value: Any) -> str | None:
    """Logical id behind {"Ref": X} or {"Fn::GetAtt": [X, ...]}."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def policy_documents(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM policy document: inline role policies, policies, managed policies and resource policies."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for lid, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            docs += [(f"{lid}/{p.get('PolicyName')}", p["PolicyDocument"]) for p in props.get("Policies", [])]
        elif res["Type"] in POLICY_TYPES:
            docs.append((lid, props["PolicyDocument"]))
    return docs


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    stmts = document["Statement"]
    return stmts if isinstance(stmts, list) else [stmts]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------- linters


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    executable = str(cfn_lint) if cfn_lint.exists() else shutil.which("cfn-lint")
    assert executable, "cfn-lint is not installed (run make setup)"
    result = subprocess.run(
        [executable, "template.yaml"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"cfn-lint findings:\n{result.stdout}{result.stderr}"


def _lambda_python() -> subprocess.CompletedProcess[str]:
    """python3.13, the functions' runtime, found as the Makefile finds it."""
    find = [str(REPO / "scripts" / "find-python"), "--only", "3.13"]
    return subprocess.run(find, capture_output=True, text=True, timeout=30, check=False)


def _sam_env() -> dict[str, str]:
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION=REGION)
    # `sam build` resolves the runtime's interpreter (python3.13) from PATH.
    found = _lambda_python()
    candidates = [Path(found.stdout.strip()).parent] if found.returncode == 0 else []
    candidates.append(SAM.parent)
    env["PATH"] = os.pathsep.join([*(str(c) for c in candidates if c.is_dir()), env.get("PATH", "")])
    return env


def _require_sam() -> None:
    if not SAM.exists():
        pytest.fail(
            ".venv-sam/bin/sam is missing: run make setup (it creates .venv-sam from requirements/sam.txt)"
        )


def test_sam_validate_lint_is_clean() -> None:
    _require_sam()
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--region", REGION, "--template-file", "template.yaml"],
        cwd=REPO,
        env=_sam_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"sam validate --lint failed:\n{result.stdout}{result.stderr}"


@pytest.mark.slow
def test_sam_build_packages_every_function_and_the_layer(tmp_path: Path) -> None:
    _require_sam()
    found = _lambda_python()
    assert found.returncode == 0, f"sam build needs python3.13: {found.stderr}"
    build_dir = tmp_path / "build"
    # --no-cached: hermetic (SAM keeps its cache manifest beside the build dir, so it would miss anyway).
    result = subprocess.run(
        [
            str(SAM),
            "build",
            "--no-cached",
            "--build-dir",
            str(build_dir),
            "--region",
            REGION,
            "--template-file",
            "template.yaml",
        ],
        cwd=REPO,
        env=_sam_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout}{result.stderr}"
    for logical_id in FUNCTIONS:
        assert (build_dir / logical_id / "app.py").is_file(), f"{logical_id} was built without app.py"
    layer = build_dir / "SeamLayer" / "python"
    assert (layer / "seam" / "__init__.py").is_file(), "the layer lacks python/seam/"
    assert (layer / "pydantic").is_dir(), "the layer lacks pydantic"
    # Built for arm64 Lambdas, not for this machine's architecture.
    assert list(layer.glob("pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so")), (
        "pydantic_core in the layer is not the cp313 aarch64 build"
    )
    # Every module ships its bytecode (Lambda cannot write it: /opt is read-only), compiled for 3.13 and
    # valid without checking the source (flags 0b01 in the header: hash-based, unchecked).
    sources = list(layer.rglob("*.py"))
    assert len(sources) > 500, len(sources)
    uncompiled = [
        str(source.relative_to(layer))
        for source in sources
        if not _unchecked_pyc(source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc")
    ]
    assert not uncompiled, f"{len(uncompiled)} modules without unchecked-hash bytecode, e.g. {uncompiled[:3]}"


def _unchecked_pyc(path: Path) -> bool:
    """A .pyc (named for CPython 3.13 by the caller) whose header says: hash-based, source not checked
    (PEP 552: the flags word after the magic number)."""
    return path.is_file() and int.from_bytes(path.read_bytes()[4:8], "little") == 0b01


# ---------------------------------------------------------------------------------------------- style


def test_every_resource_has_a_one_line_comment_and_a_type_suffix() -> None:
    lines = TEMPLATE.read_text().splitlines()
    start = lines.index("Resources:")
    end = lines.index("Outputs:")
    missing = []
    for i in range(start + 1, end):
        match = re.match(r"^  ([A-Za-z0-9]+):\s*$", lines[i])
        if not match:
            continue
        previous = next(line for line in reversed(lines[start:i]) if line.strip())
        if not previous.startswith("  # "):
            missing.append(match.group(1))
    assert not missing, f"resources without a one-line comment above them: {missing}"

    raw = load_raw()
    suffixes = (
        "Function",
        "Layer",
        "Queue",
        "Policy",
        "Rule",
        "Schedule",
        "Role",
        "LogGroup",
        "Table",
        "Bucket",
        "Workflow",
        "Bus",
        "Entry",
        "Key",
        "Topic",
        "Subscription",
        "MetricFilter",
        "Alarm",
        "Dashboard",
    )
    bad = [
        lid
        for lid in raw["Resources"]
        if not (re.fullmatch(r"[A-Z][A-Za-z0-9]+", lid) and lid.endswith(suffixes))
    ]
    assert not bad, f"logical ids must be PascalCase with a type suffix: {bad}"


def test_globals_give_every_function_the_runtime_and_all_settings(cfn: dict[str, Any]) -> None:
    functions = resources(cfn, "AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    for lid, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13", lid
        assert props["Architectures"] == ["arm64"], lid
        assert props["Handler"] == "app.lambda_handler", lid
        assert props["TracingConfig"] == {"Mode": "Active"}, lid
        assert len(props["Layers"]) == 1, lid
        assert set(props["Environment"]["Variables"]) == ENVIRONMENT, lid
        kebab = FUNCTIONS[lid][1]
        assert props["FunctionName"] == {"Fn::Sub": f"seam-${{Stage}}-{kebab}"}, lid
    for lid, (folder, _) in FUNCTIONS.items():
        assert load_raw()["Resources"][lid]["Properties"]["CodeUri"] == f"functions/{folder}/"


def test_state_machine_arn_setting_matches_the_state_machine_name(raw: dict[str, Any]) -> None:
    env = raw["Globals"]["Function"]["Environment"]["Variables"]
    name = raw["Resources"]["RetrainWorkflow"]["Properties"]["Name"]["Fn::Sub"]
    assert env["SEAM_STATE_MACHINE_ARN"]["Fn::Sub"].endswith(f":stateMachine:{name}")


def test_outputs(cfn: dict[str, Any]) -> None:
    assert set(cfn["Outputs"]) >= OUTPUTS


# ---------------------------------------------------------------------------------------------- IAM


def test_no_iam_statement_allows_every_action_of_a_service(cfn: dict[str, Any]) -> None:
    offenders = []
    for where, document in policy_documents(cfn):
        for stmt in statements(document):
            if stmt.get("Effect") != "Allow":
                continue
            assert "NotAction" not in stmt, f"{where}: Allow with NotAction"
            for action in as_list(stmt["Action"]):
                if action == "*" or str(action).endswith(":*"):
                    offenders.append((where, action))
    assert not offenders, f"wildcard actions: {offenders}"


def test_resource_star_only_where_iam_has_no_resource_level_permissions(cfn: dict[str, Any]) -> None:
    """Resource "*" is allowed only for actions that accept nothing else (checked one by one)."""
    star_only = {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
        # Added by SAM for state machine logging (CloudWatch Logs vended log delivery).
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    for where, document in policy_documents(cfn):
        if where.endswith("BucketPolicy"):
            continue
        for stmt in statements(document):
            if stmt.get("Effect") == "Allow" and "*" in as_list(stmt.get("Resource", [])):
                extra = set(as_list(stmt["Action"])) - star_only
                assert not extra, f"{where}: Resource '*' for {sorted(extra)}"


def test_state_machine_invokes_exactly_its_nine_functions(cfn: dict[str, Any], raw: dict[str, Any]) -> None:
    sm = raw["Resources"]["RetrainWorkflow"]["Properties"]
    assert sm["Type"] == "STANDARD"
    assert sm["Tracing"] == {"Enabled": True}
    assert {k[: -len("Arn")] for k in sm["DefinitionSubstitutions"]} == set(WORKFLOW_FUNCTIONS)
    # No execution data: task parameters (the task token) and state inputs never reach CloudWatch Logs.
    assert sm["Logging"]["Level"] in ("ALL", "ERROR") and sm["Logging"]["IncludeExecutionData"] is False

    state_machine = resources(cfn, "AWS::StepFunctions::StateMachine")["RetrainWorkflow"]["Properties"]
    role = cfn["Resources"][_ref_id(state_machine["RoleArn"])]
    invoked = set()
    for policy in role["Properties"]["Policies"]:
        for stmt in statements(policy["PolicyDocument"]):
            if "lambda:InvokeFunction" in as_list(stmt["Action"]):
                for resource in as_list(stmt["Resource"]):
                    sub = resource["Fn::Sub"]
                    invoked.add(sub[1]["functionName"]["Ref"])
    assert invoked == set(WORKFLOW_FUNCTIONS)


def test_state_machine_role_can_set_up_its_log_delivery(cfn: dict[str, Any]) -> None:
    """Without these, CreateStateMachine fails: "The state machine IAM Role is not authorized to access the
    Log Destination" (SAM does not add them for Logging)."""
    state_machine = resources(cfn, "AWS::StepFunctions::StateMachine")["RetrainWorkflow"]["Properties"]
    role = cfn["Resources"][_ref_id(state_machine["RoleArn"])]
    actions = {
        action
        for policy in role["Properties"]["Policies"]
        for stmt in statements(policy["PolicyDocument"])
        for action in as_list(stmt["Action"])
    }
    assert {"logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"} <= actions


def test_only_known_aws_managed_policies_are_attached(cfn: dict[str, Any]) -> None:
    allowed = {
        "service-role/AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaSQSQueueExecutionRole",
        "AWSXrayWriteOnlyAccess",
        "AWSXRayDaemonWriteAccess",
    }
    for lid, role in resources(cfn, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
            assert text.split(":policy/", 1)[1] in allowed, f"{lid}: unexpected managed policy {text}"


def test_pass_role_is_limited_to_sagemaker(cfn: dict[str, Any]) -> None:
    for where, document in policy_documents(cfn):
        for stmt in statements(document):
            if "iam:PassRole" in as_list(stmt.get("Action", [])):
                assert _ref_id(stmt["Resource"]) == "SageMakerTrainingRole", where
                condition = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
                assert stmt["Condition"] == condition, where


def granted(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The Allow statements of a function's generated role (e.g. "FinalizeFunctionRole")."""
    return [
        stmt
        for where, document in policy_documents(cfn)
        if where.split("/")[0] == role
        for stmt in statements(document)
        if stmt.get("Effect") == "Allow"
    ]


def test_every_grant_on_training_jobs_is_scoped_to_this_stage(cfn: dict[str, Any]) -> None:
    """Two stacks in one account: a role of one stage never reaches the other stage's jobs."""
    scoped = []
    for where, document in policy_documents(cfn):
        for stmt in statements(document):
            for resource in as_list(stmt.get("Resource", [])):
                text = json.dumps(resource)
                if "training-job" in text:
                    assert text.endswith(':training-job/seam-${Stage}-*"}'), (where, text)
                    scoped.append(where.split("/")[0])
    assert {"LaunchTrainingFunctionRole", "TrainingCallbackFunctionRole", "FinalizeFunctionRole"} <= set(
        scoped
    )


def test_finalize_and_the_reconciler_may_stop_seams_training_jobs_and_nothing_else_may(
    cfn: dict[str, Any],
) -> None:
    """A run that ends with its task token unsettled has its job stopped (Finalize reads the token)."""
    stoppers = {}
    for where, document in policy_documents(cfn):
        for stmt in statements(document):
            if "sagemaker:StopTrainingJob" in as_list(stmt.get("Action", [])):
                stoppers[where.split("/")[0]] = stmt["Resource"]["Fn::Sub"]
    assert set(stoppers) == {"FinalizeFunctionRole", "ReconcilerFunctionRole"}
    assert all(arn.endswith(":training-job/seam-${Stage}-*") for arn in stoppers.values()), stoppers
    reads_tokens = [
        stmt
        for stmt in granted(cfn, "FinalizeFunctionRole")
        if "dynamodb:GetItem" in as_list(stmt["Action"])
        and '"TaskTokensTable"' in json.dumps(stmt["Resource"])
    ]
    assert reads_tokens


# ---------------------------------------------------------------------------------------------- async edges


def _dead_letter_queues(cfn: dict[str, Any]) -> set[str]:
    """Queues that something (a redrive policy, a rule target, a schedule) uses as its DLQ."""
    dlqs = set()
    for res in cfn["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in props:
            dlqs.add(_ref_id(props["RedrivePolicy"]["deadLetterTargetArn"]))
        elif res["Type"] == "AWS::Events::Rule":
            targets = [t for t in props.get("Targets", []) if "DeadLetterConfig" in t]
            dlqs |= {_ref_id(t["DeadLetterConfig"]["Arn"]) for t in targets}
        elif res["Type"] == "AWS::Scheduler::Schedule" and "DeadLetterConfig" in props["Target"]:
            dlqs.add(_ref_id(props["Target"]["DeadLetterConfig"]["Arn"]))
    return dlqs - {None}


def test_every_queue_is_encrypted_and_every_work_queue_has_a_dlq(cfn: dict[str, Any]) -> None:
    queues = resources(cfn, "AWS::SQS::Queue")
    dlqs = _dead_letter_queues(cfn)
    assert {"TriggerDeadLetterQueue", "CallbackDeadLetterQueue"} <= dlqs
    for lid, queue in queues.items():
        props = queue["Properties"]
        encrypted = props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
        assert encrypted, f"{lid} is not encrypted"
        if lid.endswith("DeadLetterQueue"):
            assert lid in dlqs, f"{lid} is named a DLQ but nothing sends to it"
        if lid in dlqs:
            assert props["MessageRetentionPeriod"] == FOURTEEN_DAYS, lid
        else:
            assert props["RedrivePolicy"]["maxReceiveCount"] == 5, f"{lid} has no redrive policy"
            assert _ref_id(props["RedrivePolicy"]["deadLetterTargetArn"]) in queues


def test_queue_visibility_is_six_times_the_consumer_timeout(cfn: dict[str, Any]) -> None:
    mappings = resources(cfn, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 3
    for lid, mapping in mappings.items():
        props = mapping["Properties"]
        queue = cfn["Resources"][_ref_id(props["EventSourceArn"])]["Properties"]
        function = cfn["Resources"][_ref_id(props["FunctionName"])]["Properties"]
        assert queue["VisibilityTimeout"] == 6 * function["Timeout"], lid
        assert props["BatchSize"] == 10
        assert props["MaximumBatchingWindowInSeconds"] == 0  # latency: see bench/overhead.py
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["ScalingConfig"] == {"MaximumConcurrency": 5}
    consumers = {
        (_ref_id(m["Properties"]["FunctionName"]), _ref_id(m["Properties"]["EventSourceArn"]))
        for m in mappings.values()
    }
    assert consumers == {
        ("TriggerFunction", "TriggerQueue"),
        ("TriggerFunction", "ApprovalQueue"),
        ("TrainingCallbackFunction", "CallbackQueue"),
    }


def test_every_rule_targets_a_queue_or_the_alert_topic_with_a_dlq_and_retries(cfn: dict[str, Any]) -> None:
    rules = resources(cfn, "AWS::Events::Rule")
    assert {
        "DatasetCreatedRule",
        "DriftAlarmRule",
        "TrainingStateChangeRule",
        "ModelPackageStateChangeRule",
        "RunOutcomeRule",
    } <= set(rules)
    for lid, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            destination = cfn["Resources"][_ref_id(target["Arn"])]
            dead_letters = cfn["Resources"][_ref_id(target["DeadLetterConfig"]["Arn"])]
            assert destination["Type"] in ("AWS::SQS::Queue", "AWS::SNS::Topic"), lid
            assert dead_letters["Type"] == "AWS::SQS::Queue", lid
            assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, lid


def test_rule_patterns(cfn: dict[str, Any]) -> None:
    rules = resources(cfn, "AWS::Events::Rule")
    dataset = rules["DatasetCreatedRule"]["Properties"]["EventPattern"]
    assert dataset["source"] == ["aws.s3"] and dataset["detail-type"] == ["Object Created"]
    assert dataset["detail"]["bucket"]["name"] == [{"Ref": "DataBucket"}]
    assert dataset["detail"]["object"]["key"] == [{"prefix": "datasets/"}]
    drift = rules["DriftAlarmRule"]["Properties"]["EventPattern"]
    assert drift["detail-type"] == ["CloudWatch Alarm State Change"]
    assert drift["detail"]["state"]["value"] == ["ALARM"]
    training = rules["TrainingStateChangeRule"]["Properties"]["EventPattern"]
    assert training["detail-type"] == ["SageMaker Training Job State Change"]
    assert training["detail"]["TrainingJobName"] == [
        {"prefix": {"Fn::Sub": "seam-${Stage}-"}}
    ]  # this stage's jobs


def test_every_schedule_has_retries_and_a_dlq(cfn: dict[str, Any]) -> None:
    schedules = resources(cfn, "AWS::Scheduler::Schedule")
    assert len(schedules) == 2
    for lid, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        assert "RetryPolicy" in target and "DeadLetterConfig" in target, lid
        assert schedule["Properties"]["FlexibleTimeWindow"] == {"Mode": "OFF"}, lid

    tick = schedules["RetrainSchedule"]["Properties"]
    assert tick["ScheduleExpression"] == "rate(15 minutes)"
    assert _ref_id(tick["Target"]["Arn"]) == "TriggerQueue"
    assert _ref_id(tick["Target"]["DeadLetterConfig"]["Arn"]) == "TriggerDeadLetterQueue"
    body = json.loads(tick["Target"]["Input"])
    assert body == {
        "source": "seam.schedule",
        "detail-type": "Scheduled Retrain Tick",
        "time": "<aws.scheduler.scheduled-time>",
        "id": "<aws.scheduler.execution-id>",
    }
    reconciler = next(s for lid, s in schedules.items() if lid != "RetrainSchedule")["Properties"]
    assert reconciler["ScheduleExpression"] == "rate(5 minutes)"
    assert RECONCILER_PERIOD_SECONDS == 5 * 60  # training heartbeat windows are sized on it
    assert _ref_id(reconciler["Target"]["Arn"]) == "ReconcilerFunction"


def test_queue_policies_admit_events_only_from_our_rules(cfn: dict[str, Any]) -> None:
    policies = resources(cfn, "AWS::SQS::QueuePolicy")
    assert policies
    for lid, policy in policies.items():
        for stmt in statements(policy["Properties"]["PolicyDocument"]):
            if stmt["Principal"] == {"Service": "events.amazonaws.com"}:
                arns = as_list(stmt["Condition"]["ArnEquals"]["aws:SourceArn"])
                assert all(cfn["Resources"][_ref_id(a)]["Type"] == "AWS::Events::Rule" for a in arns), lid
            else:
                assert _ref_id(stmt["Principal"]["AWS"]) == "SchedulerRole", lid


# ---------------------------------------------------------------------------------------------- logs


def test_every_function_and_the_state_machine_log_to_a_group_with_retention(cfn: dict[str, Any]) -> None:
    groups = resources(cfn, "AWS::Logs::LogGroup")
    for lid, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, lid
    names = {
        g["Properties"]["LogGroupName"]["Fn::Sub"]: lid
        for lid, g in groups.items()
        if isinstance(g["Properties"]["LogGroupName"], dict)
    }
    # SageMaker's own, account-wide name: created by the stack (with retention) unless another stack has it.
    assert groups["TrainingJobsLogGroup"]["Properties"]["LogGroupName"] == "/aws/sagemaker/TrainingJobs"
    assert groups["TrainingJobsLogGroup"]["Condition"] == "CreatesTrainingLogGroup"
    for lid, fn in resources(cfn, "AWS::Lambda::Function").items():
        function_name = fn["Properties"]["FunctionName"]["Fn::Sub"]
        group = names.get(f"/aws/lambda/{function_name}")
        assert group, f"{lid} has no /aws/lambda/{function_name} log group"
        assert fn["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": group}, lid

    state_machine = resources(cfn, "AWS::StepFunctions::StateMachine")["RetrainWorkflow"]["Properties"]
    destination = state_machine["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]
    assert _ref_id(destination["LogGroupArn"]) in groups


# ---------------------------------------------------------------------------------------------- storage


def test_bucket_is_private_versioned_encrypted_and_tls_only(cfn: dict[str, Any]) -> None:
    bucket = cfn["Resources"]["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    public_access = bucket["PublicAccessBlockConfiguration"]
    assert len(public_access) == 4 and all(value is True for value in public_access.values())
    assert any("NoncurrentVersionExpiration" in r for r in bucket["LifecycleConfiguration"]["Rules"])

    policy = resources(cfn, "AWS::S3::BucketPolicy")["DataBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "DataBucket"}
    denies_plain_http = [
        s
        for s in statements(policy["PolicyDocument"])
        if s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert denies_plain_http, "the data bucket policy does not deny non-TLS requests"


def test_every_table_is_on_demand_recoverable_encrypted_and_protected_in_prod(cfn: dict[str, Any]) -> None:
    tables = resources(cfn, "AWS::DynamoDB::Table")
    assert set(tables) == {
        "ModelsTable",
        "RunsTable",
        "ModelVersionsTable",
        "TaskTokensTable",
        "LocksTable",
    }
    for lid, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", lid
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, lid
        assert props["SSESpecification"]["SSEEnabled"] is True, lid
        assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}, lid
    keys = {lid: [k["AttributeName"] for k in t["Properties"]["KeySchema"]] for lid, t in tables.items()}
    assert keys["ModelsTable"] == ["model"]
    assert keys["RunsTable"] == ["run_id"]
    assert keys["ModelVersionsTable"] == ["model", "version"]
    assert keys["TaskTokensTable"] == ["training_job_name"]
    assert keys["LocksTable"] == ["model"]
    indexes = {
        i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
        for i in tables["RunsTable"]["Properties"]["GlobalSecondaryIndexes"]
    }
    assert indexes == {"by-model": ["model", "started_at"], "by-status": ["status", "updated_at"]}
    ttl = {
        lid: t["Properties"].get("TimeToLiveSpecification", {}).get("AttributeName")
        for lid, t in tables.items()
    }
    assert ttl["TaskTokensTable"] == "expires_at"


def test_access_entry_only_with_a_serving_cluster(cfn: dict[str, Any]) -> None:
    entry = cfn["Resources"]["DeployAccessEntry"]
    assert entry["Condition"] == "HasServingCluster"
    assert entry["Properties"]["KubernetesGroups"] == ["seam-deployer"]
    assert entry["Properties"]["Type"] == "STANDARD"
    deployer = _ref_id(entry["Properties"]["PrincipalArn"])
    for lid in ("DeployFunction", "CheckRolloutFunction", "RollbackFunction"):
        assert _ref_id(cfn["Resources"][lid]["Properties"]["Role"]) == deployer, lid


def test_layer_lock_pins_the_same_versions_as_the_dev_constraints() -> None:
    """The layer's closure (layers/seam/requirements.lock) and the dev/CI closure must not drift apart."""

    def pins(path: Path) -> dict[str, str]:
        lines = [ln.strip() for ln in path.read_text().splitlines() if "==" in ln and not ln.startswith("#")]
        return {ln.split("==")[0].lower().replace("_", "-"): ln.split("==")[1] for ln in lines}

    layer = pins(REPO / "layers" / "seam" / "requirements.lock")
    dev = pins(REPO / "requirements" / "constraints.txt")
    assert {name: version for name, version in layer.items() if dev.get(name) != version} == {}


def test_a_full_training_quota_makes_the_launch_wait_not_fail() -> None:
    """ResourceLimitExceeded (TrainingCapacityError) is retried with long, jittered backoff: with
    1,000 models the account's training-instance quota is what binds first (docs/SCALE.md)."""
    asl = json.loads((REPO / "statemachines" / "retrain_workflow.asl.json").read_text())
    [retry] = [
        r for r in asl["States"]["LaunchTraining"]["Retry"] if "TrainingCapacityError" in r["ErrorEquals"]
    ]
    waits, interval = [], retry["IntervalSeconds"]
    for _ in range(retry["MaxAttempts"]):
        waits.append(min(interval, retry["MaxDelaySeconds"]))
        interval *= retry["BackoffRate"]
    assert retry["IntervalSeconds"] >= 60 and retry["JitterStrategy"] == "FULL"
    assert sum(waits) >= 2 * 3600  # waits out at least two hours of a full quota
    catch_all = asl["States"]["LaunchTraining"]["Retry"][-1]["ErrorEquals"]
    assert "TrainingCapacityError" not in catch_all
