"""Budgets as a guardrail: before LaunchTraining creates a job, the run's worst case is added to the
month's spend so far; a run that would exceed its model's (or its team's) monthly budget is not launched.

* worst case: the instance's hourly price x instance count x (max runtime + warm-pool keep-alive): the
  most a job can be billed (SageMaker stops it at MaxRuntimeInSeconds; managed spot bills at most that
  too), from the same price table the run's cost is measured with (seam.domain.costing).
* spend so far: the recorded cost of each run started this calendar month (UTC) of the model (or of
  every model of the team), the known parts of those whose cost is unknown, and the worst case of
  those still running (they have not recorded a cost yet).

A model whose instance type has no price cannot be estimated: it is launched, and the check says why it
was not made (an unpriced type never stops a run). Without a budget nothing is read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.domain.costing import Prices, price_table
from seam.models.run import utc_now

if TYPE_CHECKING:
    from seam.models.run_record import Run
    from seam.models.training_config import TrainingConfig


class BudgetCheck(NamedTuple):
    within: bool
    reason: str  # for a refusal, the notification's one line (starts with "budget:")


def worst_case_usd(config: TrainingConfig, prices: Prices) -> float | None:
    """The most one run of `config` can be billed for training (None: its instance type has no price)."""
    spec = config.training
    hourly = prices.training_hourly(spec.instance_type)
    if hourly is None:
        return None
    seconds = spec.max_runtime_seconds + spec.warm_pool_keep_alive_seconds
    return hourly * spec.instance_count * seconds / 3600


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spent(runs: list[Run], run_id: str, worst_case: float) -> float:
    """What the runs have cost (or may still cost) this month, without `run_id` itself."""
    total = 0.0
    for run in runs:
        if run.run_id == run_id:
            continue
        if run.cost is not None:
            total += run.cost.total_usd if run.cost.total_usd is not None else run.cost.known_usd
        elif not run.status.terminal and (run.training_job_name or run.champion_scoring_job_name):
            total += worst_case  # a job launched (scoring its champion, training or past it): not costed yet
    return total


def check_budget(
    config: TrainingConfig,
    run_id: str,
    models: ModelStore,
    runs: RunStore,
    prices: Prices | None = None,
    now: datetime | None = None,
) -> BudgetCheck:
    """Whether launching `run_id` keeps its model (and team) within budget this month."""
    budget = config.budget
    if budget is None:
        return BudgetCheck(True, "no budget")
    prices = prices or price_table()
    worst = worst_case_usd(config, prices)
    if worst is None:
        return BudgetCheck(True, f"not checked: {prices.missing(config.training.instance_type)}")
    since = month_start(now or utc_now())
    model_spent = spent(runs.list_since(since, config.name), run_id, worst)
    if model_spent + worst > budget.monthly_usd:
        return BudgetCheck(False, _over(f"model {config.name}", model_spent, worst, budget.monthly_usd))
    if budget.team_monthly_usd is not None:
        team = [c for c in models.list() if c.team == config.team and c.name != config.name]
        team_spent = model_spent + sum(
            spent(runs.list_since(since, other.name), run_id, worst_case_usd(other, prices) or 0.0)
            for other in team
        )
        if team_spent + worst > budget.team_monthly_usd:
            return BudgetCheck(
                False, _over(f"team {config.team}", team_spent, worst, budget.team_monthly_usd)
            )
    return BudgetCheck(True, f"within budget: worst case ${worst:.2f}, month so far ${model_spent:.2f}")


def _over(whose: str, spent_usd: float, worst: float, limit: float) -> str:
    return (
        f"budget: {whose} has spent ${spent_usd:.2f} this month; this run could cost up to ${worst:.2f} "
        f"(price x instances x (max runtime + keep-alive)), over its monthly budget of ${limit:.2f}; "
        "not launched"
    )
