"""Finalize: record the outcome, move the champion, release the lock, start the pending run, announce.

Every step is idempotent, so the state's Retry can re-run Finalize after any partial failure:
a terminal run is not rewritten, a released lock is not released twice, and a lock handed to a pending
run whose start was lost is started again (`lock_handover.resume_lock_holder`, shared with the
reconciler).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from seam.adapters.dynamodb.locks import LockStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.adapters.outcomes import OutcomePublisher
from seam.adapters.sagemaker import ModelRegistry
from seam.adapters.workflow import Workflow
from seam.domain.lock_handover import resume_lock_holder
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.errors import BudgetExceededError, DeployRefusedError, StaleUpdateError
from seam.models.champion import Champion
from seam.models.decision import SEAM, Decision, decision_metadata
from seam.models.run import RunStatus, TriggerKind, utc_now

if TYPE_CHECKING:  # the handler builds the meter: a Finalizer without one loads no pricing
    from seam.domain.costing import CostMeter
    from seam.models.cost import RunCost
    from seam.models.run_progress import RunProgress
    from seam.models.views.finalize import FinalizeState


class Outcome(NamedTuple):
    status: RunStatus
    event: str  # the domain event published on Seam's bus
    reason: str


def outcome_of(state: FinalizeState) -> Outcome:
    if state.error and state.error.error == DeployRefusedError.__name__:
        return Outcome(RunStatus.REFUSED, "DeployRefused", state.error.message)
    if state.error and state.error.error == BudgetExceededError.__name__:  # not launched: nothing failed
        return Outcome(RunStatus.SKIPPED, "RunSkipped", state.error.message)  # "budget: ..."
    if state.error:
        return Outcome(RunStatus.FAILED, "RunFailed", f"{state.error.error}: {state.error.message}")
    if state.rolled_back:
        reason = (state.deployment.rollout.get("reason") if state.deployment else "") or "rollout failed"
        return Outcome(RunStatus.FAILED, "RunFailed", f"RolloutFailed: {reason}; previous version restored")
    if state.data_unchanged:
        return Outcome(RunStatus.SKIPPED, "RunSkipped", "dataset unchanged since the champion was trained")
    if state.evaluation and state.evaluation.decision == "reject":
        return Outcome(RunStatus.REJECTED, "RunRejected", state.evaluation.reason)
    if state.deployment and state.deployment.state == "done":
        return Outcome(
            RunStatus.DEPLOYED,
            "ModelDeployed",
            f"version {state.registration.version} serving" if state.registration else "deployed",
        )
    if state.registration and state.deployment is None:
        return Outcome(
            RunStatus.REGISTERED,
            "ModelRegistered",
            f"version {state.registration.version} registered ({state.registration.approval})",
        )
    return Outcome(RunStatus.FAILED, "RunFailed", "workflow ended without an outcome")


def state_timings(timeline: dict[str, datetime], finished_at: datetime) -> dict[str, float]:
    """Seconds spent in each status, from the timeline of status changes."""
    ordered = sorted(timeline.items(), key=lambda item: item[1])
    ends = [at for _, at in ordered[1:]] + [finished_at]
    return {
        status: round((end - start).total_seconds(), 3)
        for (status, start), end in zip(ordered, ends, strict=True)
    }


class Finalizer:
    def __init__(
        self,
        runs: RunStore,
        versions: VersionStore,
        locks: LockStore,
        workflow: Workflow,
        outcomes: OutcomePublisher,
        jobs: OrphanedJobs,
        registry: ModelRegistry | None = None,  # marks a version whose rollout failed Rejected
        meter: CostMeter | None = None,  # None: the run's cost is not measured
    ) -> None:
        self.runs, self.versions, self.locks, self.workflow = runs, versions, locks, workflow
        self.outcomes, self.jobs, self.registry, self.meter = outcomes, jobs, registry, meter

    def finalize(self, state: FinalizeState) -> dict[str, Any]:
        outcome = outcome_of(state)
        outcome = self._promote_champion(state, outcome)
        run = self._record(state, outcome)
        self._reject_failed_rollout(state, outcome)
        # A failed run without a training result may have left its job running (e.g. States.Timeout):
        # stopped before the lock is handed over, so the model's next run never trains beside it.
        stopped = None
        if outcome.status is RunStatus.FAILED and state.training is None:
            stopped = self.jobs.stop(state.run_id)
        handed_to = self.locks.release(state.model, state.run_id)
        resumed = resume_lock_holder(
            state.model, self.locks, self.runs, self.workflow, handed_to, on_release=self.jobs.stop
        )
        timings = run.state_timings if run else {}
        cost = run.cost if run else None
        self.outcomes.publish(
            outcome.event,
            {
                "run_id": state.run_id,
                "model": state.model,
                "status": outcome.status.value,
                "reason": " ".join(outcome.reason.split()),  # one line: it is read in notifications
                "trigger": state.trigger.value,
                "model_version": state.registration.version if state.registration else None,
                "approval": state.registration.approval if state.registration else None,
                "metrics": state.training.metrics if state.training else {},
                "state_timings": timings,
                "cost": cost_summary(cost),
            },
        )
        return {
            "run_id": state.run_id,
            "status": outcome.status.value,
            "reason": outcome.reason,
            "next_run_id": resumed,
            "training_job_stop": stopped._asdict() if stopped else None,
            "state_timings": timings,
            "cost": cost_summary(cost),
        }

    def _promote_champion(self, state: FinalizeState, outcome: Outcome) -> Outcome:
        promotes = outcome.status is RunStatus.DEPLOYED or (
            outcome.status is RunStatus.REGISTERED
            and state.registration
            and state.registration.approval == "Approved"
        )
        if not promotes:
            return outcome
        assert state.evaluation and state.registration
        champion = Champion(
            model=state.model,
            version=state.registration.version,
            metric=state.evaluation.metric,
            value=state.evaluation.challenger,
            run_id=state.run_id,
            dataset_fingerprint=state.dataset.fingerprint if state.dataset else None,
            previous_version=state.evaluation.champion_version,
        )
        try:
            self.versions.promote(champion, replaces=state.evaluation.champion_version)
        except StaleUpdateError as exc:
            current = self.versions.champion(state.model)
            if not (current and current.run_id == state.run_id):
                return Outcome(RunStatus.FAILED, "RunFailed", f"ChampionMoved: {exc}")
            # else our own write: an earlier attempt (or one whose answer was lost) applied it
        with contextlib.suppress(StaleUpdateError):  # no version record (written some other way)
            self.versions.mark_served(state.model, champion.version)
        return outcome

    def _reject_failed_rollout(self, state: FinalizeState, outcome: Outcome) -> None:
        """A version whose rollout failed and was rolled back is marked Rejected in the registry, with
        the reason, so the registry no longer says Approved of it. Not a rollback run's: the version it
        went back to served before; its failure says more about the cluster than about the version."""
        if not (state.rolled_back and state.registration and self.registry):
            return
        if state.trigger is TriggerKind.ROLLBACK:
            return
        decision = Decision(action="reject", version=state.registration.version, by=SEAM, note=outcome.reason)
        self.registry.set_approval(
            state.registration.model_package_arn, "Rejected", outcome.reason, decision_metadata(decision)
        )

    def _record(self, state: FinalizeState, outcome: Outcome) -> RunProgress | None:
        run = self.runs.progress(state.run_id)  # the fields read here, not the whole record
        if run is None or run.status.terminal:
            return run  # recorded by an earlier attempt: never overwrite a terminal status
        finished = utc_now()
        timeline = {**run.timeline, outcome.status.value: finished}
        fields: dict[str, Any] = {
            "status": outcome.status,
            "finished_at": finished,
            "state_timings": state_timings(run.timeline, finished),
            "dataset": state.dataset.model_dump(mode="json") if state.dataset else None,
            "evaluation": state.evaluation.model_dump(mode="json") if state.evaluation else None,
            "metrics": state.training.metrics if state.training else None,
            "training_job_name": state.training.job_name if state.training else None,
            "model_version": state.registration.version if state.registration else None,
            "rollout": state.deployment.rollout if state.deployment else None,
        }
        cost = self.meter.measure(run) if self.meter else None
        if cost is not None:
            fields["cost"] = cost.model_dump(mode="json")
        if outcome.status in (RunStatus.FAILED, RunStatus.REJECTED, RunStatus.SKIPPED, RunStatus.REFUSED):
            fields["error"] = outcome.reason.split(":", 1)[0] if outcome.status is RunStatus.FAILED else None
            fields["cause"] = outcome.reason
        with contextlib.suppress(StaleUpdateError):
            self.runs.update(state.run_id, **{k: v for k, v in fields.items() if v is not None})
        return run.model_copy(
            update={
                "status": outcome.status,
                "timeline": timeline,
                "state_timings": fields["state_timings"],
                "cost": cost,
            }
        )


def cost_summary(cost: RunCost | None) -> dict[str, Any] | None:
    """A run's cost in its outcome event and Finalize's output: the total (None when unknown, with the
    reason) and each part's USD."""
    if cost is None:
        return None
    return {
        "total_usd": cost.total_usd,
        "known_usd": cost.known_usd,
        "unknown_reason": cost.unknown_reason,
        "parts": cost.summary(),
    }
