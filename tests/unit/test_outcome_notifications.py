"""The outcome rule of template.yaml (RunOutcomeRule) on the events Finalize really publishes.

Finalize runs on moto with the real OutcomePublisher; the rule is created on Seam's bus with the template's
own pattern, its target swapped for a queue so the delivered events can be read; the template's input
transformer is then applied to each delivered event, as EventBridge applies it before SNS sends the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from seam.dependencies import Dependencies
from seam.domain.finalization import Finalizer
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.models.run import ErrorInfo, RunStatus
from seam_local.template import StackTemplate

from tests.unit.test_finalization import (
    begin,
    deployed,
    evaluation,
    registration,
    request,
    seed_champion,
    trained,
)

pytestmark = pytest.mark.tables("RunsTable", "LocksTable", "ModelVersionsTable", "TaskTokensTable")

MULTI_LINE_CAUSE = json.dumps(
    {"errorType": "DataValidationError", "errorMessage": "columns:\n  lacks tenure"}
)


def outcome_rule(stack_template: StackTemplate) -> dict[str, Any]:
    return stack_template.resolve(stack_template.resources["RunOutcomeRule"]["Properties"])


@pytest.fixture
def delivered(
    stack: Any, deps: Dependencies, state_machine: str, event_bus: str, stack_template: StackTemplate
) -> Any:
    """A queue receiving what the outcome rule matches on Seam's bus; call it to read the events."""
    props = outcome_rule(stack_template)
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="outcome-rule-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="outcomes", EventBusName=event_bus, EventPattern=json.dumps(props["EventPattern"]))
    events.put_targets(Rule="outcomes", EventBusName=event_bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


def finalize(deps: Dependencies, state: Any) -> dict[str, Any]:
    jobs = OrphanedJobs(deps.tokens, deps.training)
    return Finalizer(deps.runs, deps.versions, deps.locks, deps.workflow, deps.outcomes, jobs).finalize(state)


def json_path(document: dict[str, Any], path: str) -> Any:
    """EventBridge's InputPathsMap paths used here: $.a.b (no wildcards, no indexes)."""
    assert re.fullmatch(r"\$(\.[\w-]+)+", path), path
    value: Any = document
    for part in path.split(".")[1:]:
        assert isinstance(value, dict) and part in value, f"{path} is not in the event"
        value = value[part]
    return value


def transform(event: dict[str, Any], transformer: dict[str, Any]) -> str:
    """The message text: the template's quoted lines with <name> replaced by the path's value."""
    values = {name: json_path(event, path) for name, path in transformer["InputPathsMap"].items()}
    assert all(isinstance(v, str) and v for v in values.values()), values
    lines = re.findall(r'^"(.*)"$', transformer["InputTemplate"].strip(), flags=re.M)
    assert len(lines) == len(transformer["InputTemplate"].strip().splitlines())
    return "\n".join(re.sub(r"<([\w-]+)>", lambda m: values[m[1]], line) for line in lines)


def test_run_outcomes_reach_the_topic_as_readable_text(
    deps: Dependencies, delivered: Any, stack_template: StackTemplate
) -> None:
    seed_champion(deps)
    runs = {}
    for intent, state_of in {
        "deployed": lambda r: deployed(trained(r)),
        "failed": lambda r: trained(r, error=ErrorInfo(Error="DataValidationError", Cause=MULTI_LINE_CAUSE)),
        "rejected": lambda r: trained(r, evaluation=evaluation("reject", champion_version="000002")),
        "waiting": lambda r: trained(r, registration=registration("PendingManualApproval", deployable=False)),
        "skipped": lambda r: trained(r, training=None, evaluation=None, data_unchanged=True),
    }.items():
        run_id = begin(deps, request(intent), RunStatus.VALIDATING)
        runs[intent] = (run_id, finalize(deps, state_of(run_id))["status"])
    assert {i: s for i, (_, s) in runs.items()} == {
        "deployed": "DEPLOYED",
        "failed": "FAILED",
        "rejected": "REJECTED",
        "waiting": "REGISTERED",
        "skipped": "SKIPPED",
    }

    events = {e["detail"]["run_id"]: e for e in delivered()}

    # Skipped runs (nothing to do) are not notified; the others are, once each.
    assert set(events) == {runs[i][0] for i in ("deployed", "failed", "rejected", "waiting")}
    transformer = outcome_rule(stack_template)["Targets"][0]["InputTransformer"]
    messages = {
        i: transform(events[run_id], transformer) for i, (run_id, _) in runs.items() if run_id in events
    }
    failed_id = runs["failed"][0]
    failed = messages["failed"].splitlines()
    assert failed[0] == f"Seam unit: RunFailed - model churn, run {failed_id} (FAILED)"
    assert failed[1] == "Reason: DataValidationError: columns: lacks tenure"  # one line
    assert failed[2] == (
        "Execution: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"
        f"{deps.workflow.state_machine_arn.replace(':stateMachine:', ':execution:')}:{failed_id}"
    )
    assert messages["deployed"].splitlines()[0].startswith("Seam unit: ModelDeployed - model churn")
    assert messages["rejected"].splitlines()[1].startswith("Reason: validation:auc 0.9000 vs champion")
    assert "(PendingManualApproval)" in messages["waiting"].splitlines()[1]
    assert all(len(m.splitlines()) == 3 for m in messages.values())


def test_an_approved_registration_is_not_announced_as_waiting(deps: Dependencies, delivered: Any) -> None:
    seed_champion(deps)
    run_id = begin(deps, request("approved"), RunStatus.VALIDATING)
    state = trained(run_id, registration=registration("Approved", deployable=False))

    assert finalize(deps, state)["status"] == "REGISTERED"
    assert delivered() == []
