"""Budget config (refused at `seam models put` unless a positive number) and the worst case a launch
is checked with (seam.domain.budgets); the check itself runs on the real workflow in
tests/workflow/test_budgets.py."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from seam.domain.budgets import month_start, spent, worst_case_usd
from seam.domain.costing import price_table
from seam.domain.onboarding import ConfigRefused, parse_config
from seam.models.cost import RunCost
from seam.models.run import Run, RunStatus, TriggerKind

from tests.model_configs import IMAGE


def config_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "churn",
        "team": "growth",
        "training": {"image": IMAGE, "instance_type": "ml.m5.xlarge", "instance_count": 2},
        "evaluation": {"metric": "validation:auc"},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("value", [0, -5, "100", True, math.inf, math.nan, None])
def test_a_budget_that_is_not_a_positive_number_is_refused_naming_it(value: Any) -> None:
    with pytest.raises(ConfigRefused) as refused:
        parse_config(config_data(budget={"monthly_usd": value}))
    assert "budget.monthly_usd" in str(refused.value)


def test_a_team_budget_must_be_positive_too() -> None:
    with pytest.raises(ConfigRefused, match=r"budget\.team_monthly_usd"):
        parse_config(config_data(budget={"monthly_usd": 10, "team_monthly_usd": -1}))
    config = parse_config(config_data(budget={"monthly_usd": 10, "team_monthly_usd": 250.5}))
    assert config.budget and (config.budget.monthly_usd, config.budget.team_monthly_usd) == (10, 250.5)


def test_the_worst_case_is_price_times_instances_times_max_runtime_and_keep_alive() -> None:
    training = {"image": IMAGE, "instance_type": "ml.m5.xlarge", "instance_count": 2}
    plain = parse_config(config_data(training={**training, "max_runtime_seconds": 7200}))
    assert worst_case_usd(plain, price_table()) == pytest.approx(0.23 * 2 * 2)
    pooled = {**training, "max_runtime_seconds": 3600, "warm_pool_keep_alive_seconds": 1800}
    assert worst_case_usd(parse_config(config_data(training=pooled)), price_table()) == pytest.approx(
        0.23 * 2 * 1.5
    )
    unpriced = parse_config(config_data(training={**training, "instance_type": "ml.r5.24xlarge"}))
    assert worst_case_usd(unpriced, price_table()) is None


def run(run_id: str, status: RunStatus, cost: float | None = None, **fields: Any) -> Run:
    priced = RunCost(total_usd=cost, known_usd=cost or 0.5, prices_as_of="2026-11-28", region="us-east-1")
    return Run(run_id=run_id, model="churn", trigger=TriggerKind.DATA, status=status, cost=priced, **fields)


def unpriced(run_id: str, status: RunStatus, **fields: Any) -> Run:
    return Run(run_id=run_id, model="churn", trigger=TriggerKind.DATA, status=status, **fields)


def test_the_months_spend_counts_costs_known_parts_and_the_worst_case_of_runs_in_flight() -> None:
    runs = [
        run("a", RunStatus.DEPLOYED, 1.25),
        run("b", RunStatus.FAILED, None),  # unknown total: its known parts (0.5)
        Run(
            run_id="c",
            model="churn",
            trigger=TriggerKind.DATA,
            status=RunStatus.TRAINING,
            training_job_name="c",
        ),
        Run(run_id="d", model="churn", trigger=TriggerKind.DATA, status=RunStatus.VALIDATING),  # no job yet
        Run(
            run_id="me",
            model="churn",
            trigger=TriggerKind.DATA,
            status=RunStatus.TRAINING,
            training_job_name="me",
        ),
    ]
    assert spent(runs, "me", worst_case=3.0) == pytest.approx(1.25 + 0.5 + 3.0)


def test_the_month_starts_on_the_first_at_midnight_utc() -> None:
    assert month_start(datetime(2026, 11, 28, 22, 5, tzinfo=UTC)) == datetime(2026, 11, 1, tzinfo=UTC)
