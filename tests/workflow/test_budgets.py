"""Budgets as a guardrail, on the real ASL with the real handlers: a run that could push its model (or
its team) over the monthly budget is not launched (no training job), ends SKIPPED with reason `budget`,
and the alert topic's rule turns its outcome event into a message that says so."""

from __future__ import annotations

import json
from typing import Any

import pytest
from seam.domain.budgets import worst_case_usd
from seam.domain.costing import price_table
from seam.models.run import RunStatus

from tests.unit.test_outcome_notifications import outcome_rule, transform
from tests.workflow.harness import GOOD_CSV, Harness, model_config
from tests.workflow.test_retrain_workflow import deploy_first_version

NOT_LAUNCHED = ["RunKind", "Validate", "DataChanged", "LaunchTraining", "Finalize", "RunOutcome", "Done"]


def with_budget(name: str = "churn", **budget: float) -> Any:
    return model_config(name, budget=budget)


def worst_case() -> float:
    """One run of the test config: ml.m5.large, 600 s max runtime: about $0.0192."""
    worst = worst_case_usd(with_budget(monthly_usd=1), price_table())
    assert worst == pytest.approx(0.115 * 600 / 3600)
    return worst


def outcome_notifications(harness: Harness) -> Any:
    """The template's RunOutcomeRule on Seam's bus, its target a queue; call it for the messages the
    alert topic would send (the rule's input transformer applied)."""
    props = outcome_rule(harness.stack.template)
    sqs, events = harness.stack.client("sqs"), harness.stack.client("events")
    url = sqs.create_queue(QueueName="alert-topic-stand-in")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = harness.deps.settings.event_bus_name
    events.put_rule(Name="run-outcomes", EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]))
    events.put_targets(Rule="run-outcomes", EventBusName=bus, Targets=[{"Id": "topic", "Arn": arn}])
    transformer = props["Targets"][0]["InputTransformer"]

    def read() -> list[str]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [transform(json.loads(m["Body"]), transformer) for m in messages]

    return read


def training_jobs(harness: Harness) -> list[str]:
    listed = harness.stack.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    return [job["TrainingJobName"] for job in listed]


def test_a_run_over_its_models_budget_is_skipped_without_a_training_job_and_notified(
    harness: Harness,
) -> None:
    notifications = outcome_notifications(harness)
    harness.onboard(with_budget(monthly_usd=round(worst_case() / 2, 4)))
    harness.drop("churn")
    run_id = harness.only_run_id()

    execution = harness.wait_execution(run_id)
    assert execution["status"] == "SUCCEEDED"  # a skip is not a failure
    assert harness.states_entered(run_id) == NOT_LAUNCHED
    assert training_jobs(harness) == []
    assert harness.deps.tokens.get(run_id) is None  # nothing was stored for a job either
    run = harness.run(run_id)
    assert run.status is RunStatus.SKIPPED and run.error is None
    assert (run.cause or "").startswith("budget: model churn has spent $0.00 this month")
    assert "over its monthly budget of $0.01" in (run.cause or "")
    assert harness.deps.locks.get("churn") is None
    assert run.cost is not None and "training" not in run.cost.parts  # the workflow's own cost only

    (message,) = notifications()
    lines = message.splitlines()
    assert lines[0] == f"Seam test: RunSkipped - model churn, run {run_id} (SKIPPED)"
    assert lines[1] == f"Reason: {run.cause}"
    assert lines[2].endswith(f":execution:seam-test-retrain:{run_id}")


def test_the_months_spend_so_far_counts_a_run_within_budget_launches_and_the_next_does_not(
    harness: Harness,
) -> None:
    budget = round(worst_case() * 1.05, 4)  # one run's worst case fits; with the first run's cost, not
    harness.onboard(with_budget(monthly_usd=budget))
    first = deploy_first_version(harness)
    first_cost = harness.run(first).cost
    assert first_cost is not None and first_cost.total_usd

    harness.drop("churn", body=GOOD_CSV + "61,91.5,1\n")
    second = next(r.run_id for r in harness.deps.runs.list_for_model("churn") if r.run_id != first)
    assert harness.wait_execution(second)["status"] == "SUCCEEDED"
    assert training_jobs(harness) == [first]
    run = harness.run(second)
    assert run.status is RunStatus.SKIPPED
    assert f"has spent ${first_cost.total_usd:.2f} this month" in (run.cause or "")


def test_a_team_budget_counts_the_other_models_of_the_team(harness: Harness) -> None:
    harness.onboard(model_config())  # team growth, no budget
    churn = deploy_first_version(harness)
    spent = harness.run(churn).cost.total_usd  # type: ignore[union-attr]
    team_budget = round(worst_case() + spent / 2, 6)  # fits alone, not with churn's run
    harness.onboard(with_budget("fraud", monthly_usd=1.0, team_monthly_usd=team_budget))
    harness.drop("fraud")
    fraud = harness.only_run_id("fraud")

    assert harness.wait_execution(fraud)["status"] == "SUCCEEDED"
    run = harness.run(fraud)
    assert run.status is RunStatus.SKIPPED
    assert (run.cause or "").startswith("budget: team growth has spent $")
    assert training_jobs(harness) == [churn]


def test_without_a_budget_or_a_price_the_run_launches(harness: Harness) -> None:
    config = with_budget(monthly_usd=0.0001)
    unpriced = config.training.model_copy(update={"instance_type": "ml.r5.24xlarge"})
    harness.onboard(config.model_copy(update={"training": unpriced}))
    run_id = deploy_first_version(harness)  # an unpriced type cannot be estimated: never stops a run
    assert harness.run(run_id).status is RunStatus.DEPLOYED
