"""Cost per run from what it actually used, at the prices of one dated table (seam/prices.json, with
its sources; bench/overhead.py prices its figures from the same table and counts transitions and
GB-seconds with the same functions).

The parts of a run's bill:
* training: DescribeTrainingJob's BillableTimeInSeconds x InstanceCount x the instance's hourly price.
  Managed spot is already in it: SageMaker reports the billed (not the run) time, so the savings are
  (1 - BillableTimeInSeconds / TrainingTimeInSeconds) x 100 (its documented formula).
* warm_pool: WarmPoolStatus.ResourceRetainedBillableTimeInSeconds x InstanceCount at the same price;
  while the pool is still up when the run ends (the usual case) its KeepAlivePeriodInSeconds, an upper
  bound (a reuse by the model's next run ends it sooner).
* champion_scoring: a champion of another image digest scored by a Processing job of its image
  (seam.domain.champion_scoring): DescribeProcessingJob's ProcessingStartTime -> ProcessingEndTime
  (it reports no BillableTimeInSeconds) x InstanceCount x the table's processing rate (its entry says
  how far that rate is checked).
* lambda_compute / lambda_requests: the workflow's Lambda tasks, from the execution history (each from
  TaskStarted to the task's end as Step Functions saw it, so including the invoke's round trip: an
  upper bound of the billed duration), Finalize's own up to the moment it measures. The trigger and the
  training callback serve batches of runs and are not charged to any one run.
* step_functions: state transitions of the Standard workflow, one per state entered and one per retry,
  plus the states after Finalize (RunOutcome, then Done or RunFailed).

An instance type missing from the table never stops a run: its training parts have a quantity and no
price, and the run's total is unknown with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from seam.errors import SeamError
from seam.models.cost import CostPart, PartName, RunCost
from seam.models.run import utc_now

if TYPE_CHECKING:
    from seam.adapters.sagemaker import TrainingJobs
    from seam.adapters.workflow import Workflow
    from seam.models.run_progress import RunProgress

PRICE_TABLE = Path(__file__).resolve().parents[1] / "prices.json"
# The states a run still enters once Finalize measures: RunOutcome, then Done or RunFailed.
STATES_AFTER_FINALIZE = 2
# The workflow tasks whose function has its own MemorySize in template.yaml (by state name); every
# other function has the Globals MemorySize, which Finalize runs with (tests/template checks both).
TASK_MEMORY_MB = {"Evaluate": 1769}  # computes the paired bootstrap: one full vCPU

_TASK_ENDS = frozenset(
    {"TaskSucceeded", "TaskFailed", "TaskSubmitted", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed"}
)


class Prices(NamedTuple):
    as_of: str
    region: str
    per_transition: float
    per_gb_second: float
    per_request: float
    training_per_hour: dict[str, float]
    processing_per_hour: dict[str, float]

    @classmethod
    def load(cls, path: Path = PRICE_TABLE) -> Prices:
        table = json.loads(path.read_text())
        return cls(
            as_of=table["as_of"],
            region=table["region"],
            per_transition=table["step_functions_standard_per_transition_usd"],
            per_gb_second=table["lambda_arm64_per_gb_second_usd"],
            per_request=table["lambda_per_request_usd"],
            training_per_hour=table["sagemaker_training_per_instance_hour_usd"],
            processing_per_hour=table.get("sagemaker_processing_per_instance_hour_usd", {}),
        )

    def training_hourly(self, instance_type: str) -> float | None:
        return self.training_per_hour.get(instance_type)

    def processing_hourly(self, instance_type: str) -> float | None:
        return self.processing_per_hour.get(instance_type)

    def missing(self, instance_type: str, kind: str = "training") -> str:
        return (
            f"{kind} instance type {instance_type} is not in the price table "
            f"(seam/prices.json, {self.region}, as of {self.as_of})"
        )


@lru_cache(maxsize=1)
def price_table() -> Prices:
    return Prices.load()


def billed_gb_seconds(seconds: float, memory_mb: int) -> float:
    """Lambda's billed compute: the duration rounded up to the next millisecond, times the memory in GB."""
    return math.ceil(seconds * 1000) / 1000 * memory_mb / 1024


# -- what the workflow used ---------------------------------------------------------------------------


def state_transitions(history: Iterable[dict[str, Any]]) -> int:
    """Transitions Step Functions bills for a Standard workflow: one per state entered, plus one per
    retry (a task scheduled again inside the same visit of its state)."""
    entered = retries = scheduled_in_visit = 0
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            entered += 1
            scheduled_in_visit = 0
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            scheduled_in_visit += 1
            retries += scheduled_in_visit > 1
    return entered + retries


class WorkflowUsage(NamedTuple):
    transitions: int
    lambda_tasks: tuple[tuple[str, float], ...]  # (state, seconds): one per Lambda task invocation

    @property
    def lambda_seconds(self) -> tuple[float, ...]:
        return tuple(seconds for _, seconds in self.lambda_tasks)


def workflow_usage(history: list[dict[str, Any]], now: datetime, states_after: int = 0) -> WorkflowUsage:
    """Transitions and Lambda task durations of an execution's history; a task still open (the caller's
    own, Finalize) lasts until `now`; `states_after` transitions are still to come."""
    tasks: list[tuple[str, float]] = []
    state, started = "", None
    for event in history:
        kind = event["type"]
        if kind == "TaskStateEntered":
            state = event.get("stateEnteredEventDetails", {}).get("name", "")
        elif (
            kind == "TaskStarted" and event.get("taskStartedEventDetails", {}).get("resourceType") == "lambda"
        ):
            started = event["timestamp"]
        elif kind in _TASK_ENDS and started is not None:
            tasks.append((state, (event["timestamp"] - started).total_seconds()))
            started = None
    if started is not None:
        tasks.append((state, max(0.0, (now - started).total_seconds())))
    return WorkflowUsage(state_transitions(history) + states_after, tuple(tasks))


# -- what the training job used -------------------------------------------------------------------------


class TrainingUsage(NamedTuple):
    instance_type: str
    instance_count: int
    status: str
    billable_seconds: int | None
    training_seconds: int | None
    managed_spot: bool
    warm_pool_seconds: int
    warm_pool_basis: str

    @property
    def spot_savings_percent(self) -> float | None:
        if not self.managed_spot or not self.billable_seconds or not self.training_seconds:
            return None
        return round((1 - self.billable_seconds / self.training_seconds) * 100, 1)


def training_usage(description: dict[str, Any]) -> TrainingUsage:
    """The billed usage DescribeTrainingJob reports."""
    resources = description["ResourceConfig"]
    status = description["TrainingJobStatus"]
    pool = description.get("WarmPoolStatus") or {}
    keep_alive = int(resources.get("KeepAlivePeriodInSeconds") or 0)
    if pool.get("ResourceRetainedBillableTimeInSeconds") is not None:
        pool_seconds = int(pool["ResourceRetainedBillableTimeInSeconds"])
        pool_basis = f"WarmPoolStatus.ResourceRetainedBillableTimeInSeconds (pool {pool.get('Status')})"
    elif keep_alive and status == "Completed":
        pool_seconds = keep_alive
        pool_basis = "KeepAlivePeriodInSeconds: the pool is up when the run ends (upper bound)"
    else:
        pool_seconds, pool_basis = 0, "no warm pool"
    return TrainingUsage(
        instance_type=resources["InstanceType"],
        instance_count=int(resources.get("InstanceCount", 1)),
        status=status,
        billable_seconds=description.get("BillableTimeInSeconds"),
        training_seconds=description.get("TrainingTimeInSeconds"),
        managed_spot=bool(description.get("EnableManagedSpotTraining")),
        warm_pool_seconds=pool_seconds,
        warm_pool_basis=pool_basis,
    )


# -- the bill ----------------------------------------------------------------------------------------------


def _priced(
    quantity: float, unit: str, price: float | None, basis: str, reason: str | None = None
) -> CostPart:
    usd = None if price is None or reason else round(quantity * price, 8)
    return CostPart(quantity=quantity, unit=unit, unit_price_usd=price, usd=usd, basis=basis, reason=reason)


def training_parts(usage: TrainingUsage, prices: Prices) -> dict[PartName, CostPart]:
    hourly = prices.training_hourly(usage.instance_type)
    per_second = hourly / 3600 if hourly is not None else None
    missing = None if hourly is not None else prices.missing(usage.instance_type)
    count = usage.instance_count
    if usage.billable_seconds is None and usage.status not in ("Completed", "Failed", "Stopped"):
        billable, reason = 0, missing or f"training job still {usage.status}: its billable time is not final"
        basis = "BillableTimeInSeconds not yet reported"
    else:
        billable, reason = usage.billable_seconds or 0, missing
        basis = f"BillableTimeInSeconds {billable} x InstanceCount {count} ({usage.instance_type})"
        if usage.managed_spot:
            basis += f", managed spot (savings {usage.spot_savings_percent}%)"
    parts: dict[PartName, CostPart] = {
        "training": _priced(billable * count, "instance-seconds", per_second, basis, reason)
    }
    if usage.warm_pool_seconds:
        parts["warm_pool"] = _priced(
            usage.warm_pool_seconds * count, "instance-seconds", per_second, usage.warm_pool_basis, missing
        )
    return parts


class ScoringUsage(NamedTuple):
    """What a champion's scoring (Processing) job used, from DescribeProcessingJob."""

    job_name: str
    instance_type: str
    instance_count: int
    status: str
    seconds: int | None  # ProcessingStartTime -> ProcessingEndTime


def scoring_usage(description: dict[str, Any]) -> ScoringUsage:
    from seam.domain.champion_scoring import processing_seconds

    cluster = description["ProcessingResources"]["ClusterConfig"]
    return ScoringUsage(
        job_name=description["ProcessingJobName"],
        instance_type=cluster["InstanceType"],
        instance_count=int(cluster.get("InstanceCount", 1)),
        status=description["ProcessingJobStatus"],
        seconds=processing_seconds(description),
    )


def scoring_part(usage: ScoringUsage, prices: Prices) -> CostPart:
    hourly = prices.processing_hourly(usage.instance_type)
    per_second = hourly / 3600 if hourly is not None else None
    reason = None if hourly is not None else prices.missing(usage.instance_type, "processing")
    if usage.seconds is None:
        reason = reason or f"processing job {usage.job_name} is {usage.status}: its run time is not final"
    seconds = usage.seconds or 0
    basis = (
        f"ProcessingStartTime -> ProcessingEndTime {seconds} s x InstanceCount {usage.instance_count} "
        f"({usage.instance_type}, processing job {usage.job_name})"
    )
    return _priced(seconds * usage.instance_count, "instance-seconds", per_second, basis, reason)


def workflow_parts(usage: WorkflowUsage, memory_mb: int, prices: Prices) -> dict[PartName, CostPart]:
    gb_seconds = round(
        sum(billed_gb_seconds(s, TASK_MEMORY_MB.get(state, memory_mb)) for state, s in usage.lambda_tasks), 6
    )
    invocations = len(usage.lambda_tasks)
    return {
        "lambda_compute": _priced(
            gb_seconds,
            "GB-seconds",
            prices.per_gb_second,
            f"{invocations} workflow task invocations at {memory_mb} MB (Evaluate at "
            f"{TASK_MEMORY_MB['Evaluate']} MB), timed by Step Functions",
        ),
        "lambda_requests": _priced(invocations, "requests", prices.per_request, "workflow task invocations"),
        "step_functions": _priced(
            usage.transitions, "transitions", prices.per_transition, "states entered + retries"
        ),
    }


def run_cost(
    training: TrainingUsage | None,
    workflow: WorkflowUsage | None,
    memory_mb: int,
    prices: Prices,
    team: str | None = None,
    unknown: str | None = None,
    scoring: ScoringUsage | None = None,
) -> RunCost:
    """The run's bill from its usage; `unknown`: why some usage could not be measured."""
    parts: dict[PartName, CostPart] = {}
    if scoring is not None:
        parts["champion_scoring"] = scoring_part(scoring, prices)
    if training is not None:
        parts.update(training_parts(training, prices))
    if workflow is not None:
        parts.update(workflow_parts(workflow, memory_mb, prices))
    reasons = [p.reason for p in parts.values() if p.reason] + ([unknown] if unknown else [])
    known = round(sum(p.usd for p in parts.values() if p.usd is not None), 8)
    return RunCost(
        total_usd=None if reasons else known,
        known_usd=known,
        unknown_reason="; ".join(dict.fromkeys(reasons)) or None,
        parts=parts,
        team=team,
        instance_type=training.instance_type if training else None,
        instance_count=training.instance_count if training else None,
        managed_spot=training.managed_spot if training else False,
        spot_savings_percent=training.spot_savings_percent if training else None,
        prices_as_of=prices.as_of,
        region=prices.region,
    )


class CostMeter:
    """Measures a run's cost when Finalize records its outcome (from DescribeTrainingJob and the
    execution history). A lookup that fails leaves the cost unknown with the reason: it never fails
    Finalize."""

    def __init__(
        self,
        workflow: Workflow,
        training: TrainingJobs,
        memory_mb: int,  # the Globals MemorySize: every function's but TASK_MEMORY_MB's (tests/template)
        prices: Prices | None = None,  # None: the price table shipped with Seam
    ) -> None:
        self.workflow, self.training, self.memory_mb = workflow, training, memory_mb
        self.prices = prices or price_table()

    def measure(self, run: RunProgress) -> RunCost:
        training = workflow = scoring = None
        unknown = None
        try:
            if run.champion_scoring_job_name:
                scored = self.training.describe_processing(run.champion_scoring_job_name)
                scoring = scoring_usage(scored) if scored else None
            if run.training_job_name:
                description = self.training.describe(run.training_job_name)
                training = training_usage(description) if description else None
            history = self.workflow.history(run.run_id)
            workflow = workflow_usage(history, utc_now(), STATES_AFTER_FINALIZE)
        except (SeamError, KeyError, TypeError, ValueError) as exc:
            unknown = f"usage could not be read: {type(exc).__name__}: {exc}"
        # The team LaunchTraining recorded on the run (a run that never launched has none: `seam cost`
        # then counts it with its model's team).
        return run_cost(training, workflow, self.memory_mb, self.prices, run.team, unknown, scoring)
