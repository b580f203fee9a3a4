"""seam.domain.costing: a run's bill from DescribeTrainingJob and the execution history, at the prices
of the one dated table (layers/seam/seam/prices.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.domain.costing import (
    PRICE_TABLE,
    price_table,
    run_cost,
    state_transitions,
    training_usage,
    workflow_usage,
)

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
M5_LARGE = 0.115  # USD per instance-hour in the table


def description(**changes: Any) -> dict[str, Any]:
    job = {
        "TrainingJobName": "seam-churn-0123456789ab",
        "TrainingJobStatus": "Completed",
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "BillableTimeInSeconds": 600,
        "TrainingTimeInSeconds": 600,
        "EnableManagedSpotTraining": False,
    }
    job.update(changes)
    return job


def event(kind: str, seconds: float, **details: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": T0 + timedelta(seconds=seconds), **details}


def lambda_task(name: str, start: float, end: float, end_kind: str = "TaskSucceeded") -> list[dict[str, Any]]:
    lam = {"resourceType": "lambda", "resource": "invoke"}
    return [
        event("TaskStateEntered", start, stateEnteredEventDetails={"name": name}),
        event("TaskScheduled", start, taskScheduledEventDetails=lam),
        event("TaskStarted", start, taskStartedEventDetails=lam),
        event(end_kind, end),
        event("TaskStateExited", end, stateExitedEventDetails={"name": name}),
    ]


def test_the_table_is_dated_names_its_sources_and_prices_the_example_models_instance() -> None:
    table = json.loads(PRICE_TABLE.read_text())
    datetime.strptime(table["as_of"], "%Y-%m-%d")
    assert set(table["sources"]) == {"sagemaker_training", "sagemaker_processing", "step_functions", "lambda"}
    assert all(url.startswith("https://aws.amazon.com/") for url in table["sources"].values())
    prices = price_table()
    assert prices.training_hourly("ml.m5.large") == M5_LARGE  # examples/churn and bench/noop train on it
    assert all(v > 0 for v in prices.training_per_hour.values())
    # Processing (a champion scored by its own image): its own table, unverified rates said so.
    assert prices.processing_hourly("ml.m5.large") == M5_LARGE
    assert "Processing" in table["checked"] and "NOT verified" in table["checked"]
    assert prices.processing_hourly("ml.p3.2xlarge") is None  # a GPU rate is not assumed: cost unknown


def test_training_is_billable_seconds_times_instances_at_the_hourly_price() -> None:
    cost = run_cost(training_usage(description()), None, 256, price_table())
    training = cost.parts["training"]
    assert (training.quantity, training.unit) == (1200, "instance-seconds")
    assert training.usd == pytest.approx(1200 * M5_LARGE / 3600, abs=1e-8)
    assert cost.total_usd == training.usd and cost.unknown_reason is None
    assert (cost.instance_type, cost.instance_count, cost.spot_savings_percent) == ("ml.m5.large", 2, None)


def test_managed_spot_is_billed_for_the_billable_time_with_the_savings_as_sagemaker_reports_them() -> None:
    spot = description(EnableManagedSpotTraining=True, BillableTimeInSeconds=100, TrainingTimeInSeconds=500)
    cost = run_cost(training_usage(spot), None, 256, price_table())
    assert cost.managed_spot and cost.spot_savings_percent == 80.0  # (1 - 100 / 500) x 100
    assert cost.parts["training"].quantity == 200  # 100 billable seconds x 2 instances
    assert "savings 80.0%" in cost.parts["training"].basis


def test_a_warm_pool_costs_its_retained_time_or_its_keep_alive_while_still_up() -> None:
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "KeepAlivePeriodInSeconds": 900}
    still_up = run_cost(training_usage(description(ResourceConfig=resources)), None, 256, price_table())
    pool = still_up.parts["warm_pool"]
    assert pool.quantity == 1800 and "upper bound" in pool.basis
    assert pool.usd == pytest.approx(1800 * M5_LARGE / 3600, abs=1e-8)

    reported = description(
        ResourceConfig=resources,
        WarmPoolStatus={"Status": "Reused", "ResourceRetainedBillableTimeInSeconds": 120},
    )
    reused = run_cost(training_usage(reported), None, 256, price_table()).parts["warm_pool"]
    assert reused.quantity == 240 and "ResourceRetainedBillableTimeInSeconds" in reused.basis
    assert "warm_pool" not in run_cost(training_usage(description()), None, 256, price_table()).parts


def test_an_instance_type_missing_from_the_table_leaves_the_total_unknown_with_the_reason() -> None:
    missing = description(ResourceConfig={"InstanceType": "ml.r5.24xlarge", "InstanceCount": 1})
    usage = workflow_usage(lambda_task("Validate", 0, 1), T0)
    cost = run_cost(training_usage(missing), usage, 256, price_table())
    assert cost.total_usd is None
    assert (
        cost.unknown_reason
        and "instance type ml.r5.24xlarge is not in the price table" in cost.unknown_reason
    )
    assert cost.parts["training"].quantity == 600 and cost.parts["training"].usd is None
    assert cost.known_usd == pytest.approx(
        sum(p.usd for n, p in cost.parts.items() if n != "training"), abs=1e-8
    )


def test_a_job_still_running_when_the_run_ends_has_no_final_billable_time() -> None:
    running = description(TrainingJobStatus="Stopping", BillableTimeInSeconds=None)
    cost = run_cost(training_usage(running), None, 256, price_table())
    assert cost.total_usd is None and "still Stopping" in (cost.unknown_reason or "")


def test_transitions_count_every_state_entered_and_every_retry() -> None:
    history = lambda_task("Validate", 0, 1) + lambda_task("Evaluate", 1, 2)
    assert state_transitions(history) == 2  # one per state entered; its first TaskScheduled is no more
    retry = [event("TaskScheduled", 1.5, taskScheduledEventDetails={"resourceType": "lambda"})]
    assert state_transitions(history[:3] + retry + history[3:]) == 3  # a retry of Validate


def test_lambda_tasks_are_timed_from_the_history_and_the_open_one_until_now() -> None:
    history = lambda_task("Validate", 0, 0.25) + lambda_task("LaunchTraining", 1, 1.5, "TaskSubmitted")
    history += lambda_task("Finalize", 10, 0)[:3]  # Finalize measuring itself: started, not ended
    usage = workflow_usage(history, now=T0 + timedelta(seconds=10.5), states_after=2)
    assert usage.lambda_seconds == (0.25, 0.5, 0.5)
    assert usage.transitions == 3 + 2
    cost = run_cost(None, usage, 512, price_table())
    assert cost.parts["lambda_compute"].quantity == pytest.approx(1.25 * 512 / 1024)
    assert cost.parts["lambda_requests"].quantity == 3
    assert set(cost.parts) == {"lambda_compute", "lambda_requests", "step_functions"}


def test_evaluate_is_priced_at_its_own_memory_and_the_other_tasks_at_finalizes() -> None:
    history = lambda_task("Validate", 0, 1) + lambda_task("Evaluate", 2, 4)
    usage = workflow_usage(history, now=T0 + timedelta(seconds=5))
    assert usage.lambda_tasks == (("Validate", 1.0), ("Evaluate", 2.0))
    cost = run_cost(None, usage, 256, price_table())
    assert cost.parts["lambda_compute"].quantity == pytest.approx(1 * 256 / 1024 + 2 * 1769 / 1024)
