"""A run's cost from what it used (seam.domain.costing), measured by the real Finalize on the real ASL:
stored on the run record, carried in the outcome event, and an instance type the price table lacks
leaves the run's cost unknown with the reason, never the run failed."""

from __future__ import annotations

import pytest
from seam.domain.costing import price_table
from seam.models.run import RunStatus

from bench.overhead import HAPPY_PATH
from tests.workflow.harness import Harness, model_config
from tests.workflow.test_retrain_workflow import deploy_first_version

# The happy path's Lambda tasks: Validate, LaunchTraining, Evaluate, Register, Deploy, CheckRollout, Finalize.
LAMBDA_TASKS = 7


def test_a_deployed_runs_cost_has_every_part_priced_from_the_table(harness: Harness) -> None:
    harness.onboard(model_config())
    run_id = deploy_first_version(harness)  # the training job reports 42 billable seconds

    cost = harness.run(run_id).cost
    assert cost is not None and cost.unknown_reason is None
    prices = price_table()
    parts = cost.parts
    assert set(parts) == {"training", "lambda_compute", "lambda_requests", "step_functions"}
    assert (parts["training"].quantity, parts["training"].unit) == (42, "instance-seconds")
    assert parts["training"].usd == pytest.approx(
        42 * prices.training_per_hour["ml.m5.large"] / 3600, abs=1e-8
    )
    assert parts["step_functions"].quantity == len(HAPPY_PATH)  # every state entered once, no retry
    assert parts["step_functions"].usd == pytest.approx(len(HAPPY_PATH) * prices.per_transition)
    assert parts["lambda_requests"].quantity == LAMBDA_TASKS
    assert 0 < parts["lambda_compute"].quantity < LAMBDA_TASKS * 30 * 256 / 1024  # under the timeouts
    assert cost.total_usd == pytest.approx(sum(p.usd or 0 for p in parts.values()), abs=1e-7)
    assert (cost.team, cost.instance_type, cost.instance_count, cost.prices_as_of) == (
        "growth",
        "ml.m5.large",
        1,
        prices.as_of,
    )


def test_an_instance_type_missing_from_the_price_table_still_trains_with_its_cost_unknown(
    harness: Harness,
) -> None:
    config = model_config()
    training = config.training.model_copy(update={"instance_type": "ml.r5.24xlarge"})
    harness.onboard(config.model_copy(update={"training": training}))
    run_id = deploy_first_version(harness)

    run = harness.run(run_id)
    assert run.status is RunStatus.DEPLOYED
    assert run.cost is not None and run.cost.total_usd is None
    assert "instance type ml.r5.24xlarge is not in the price table" in (run.cost.unknown_reason or "")
    training = run.cost.parts["training"]
    assert (training.quantity, training.usd, training.unit_price_usd) == (42, None, None)
    assert run.cost.known_usd == pytest.approx(
        sum(p.usd for p in run.cost.parts.values() if p.usd is not None)
    )
    assert run.cost.parts["step_functions"].usd is not None  # the other parts keep their price
