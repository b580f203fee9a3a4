"""The reconciler's sweep: have quiet trainings checked, and free locks of dead runs.

Runs in TRAINING (or SCORING: a champion's Processing job) that nothing has been heard of for
`stale_after_seconds` (no status change, no heartbeat) are sent to the training callback's queue, one
small check message each, 10 per SendMessageBatch: the callback settles or heartbeats them
(DescribeTrainingJob -> success / failure / heartbeat), five invocations at a time, with SQS
redelivery for a check that fails. A heartbeat is news, so a checked run leaves the stale set for
`stale_after_seconds`, and the stale runs are read oldest news first: each sweep reaches the trainings
whose heartbeat window closes first, and a sweep that cannot send them all leaves the rest for the
next, at the front.

A lock whose holder never started is started; a lock whose holder's execution ended without Finalize
(e.g. Finalize exhausted its retries, or the execution was aborted) is released, the run marked FAILED,
its training job stopped if its token was never settled, and the pending run started.

At scale (1,000 models, every lock held) the sweep stays a handful of calls: one ListExecutions pass
names the running executions, and only locks whose holder is not among them are checked one by one
(about six calls each, the lock read whole first). Work left when the invocation nears its timeout
is left for the next sweep.
The checks may use only part of the time (`REPAIR_SHARE` is kept for the locks), so however many
trainings are quiet, dead locks are still repaired. Each run and each lock is on its own: a call that
fails (a throttle left after the SDK's retries) is recorded with its reason and the sweep goes on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from seam.adapters.dynamodb.locks import LockStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.queues import SEND_BATCH_MAX, Queue
from seam.adapters.sagemaker import JobStop
from seam.adapters.workflow import Workflow
from seam.domain.lock_handover import resume_lock_holder
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.models.run import RunStatus, utc_now
from seam.models.training_check import TrainingCheck

if TYPE_CHECKING:
    from seam.models.sweep import HeldLock, QuietRun

# Share of a sweep's time kept for lock repair: checks of quiet trainings never take more than the rest.
REPAIR_SHARE = 0.5


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


class SweepReport:
    def __init__(self, oldest_lock_age_seconds: float | None = None) -> None:
        self.checks_sent: list[str] = []  # run ids of quiet trainings sent for a check
        self.resumed: list[str] = []
        self.released: list[str] = []
        self.stopped: dict[str, JobStop] = {}  # released run id -> StopTrainingJob's answer
        self.locks_checked = 0  # held locks whose holder was not listed as running
        self.deferred = 0  # runs or locks left for the next sweep: the invocation was running out of time
        self.failed: dict[str, str] = {}  # "run <id>" / "lock <model>" / a read -> reason
        # The longest-held lock (None: the locks could not be read): its age in seconds, model and holder.
        self.oldest_lock_age_seconds = oldest_lock_age_seconds
        self.oldest_lock_model: str | None = None
        self.oldest_lock_run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready fields (each stopped job's answer a dict), as logged and returned."""
        return {**vars(self), "stopped": {run: stop._asdict() for run, stop in self.stopped.items()}}


class Reconciler:
    def __init__(
        self,
        runs: RunStore,
        locks: LockStore,
        workflow: Workflow,
        checks: Queue,  # the training callback's queue
        jobs: OrphanedJobs,
    ) -> None:
        self.runs, self.locks, self.workflow, self.checks, self.jobs = runs, locks, workflow, checks, jobs

    def sweep(
        self, stale_after_seconds: int, time_left: Callable[[], float] = lambda: float("inf")
    ) -> SweepReport:
        """`time_left()`: seconds this sweep may still start work in (the invocation's remaining time
        less a margin); when it reaches 0 the rest is counted as deferred. The checks stop when only
        `REPAIR_SHARE` of the time the sweep began with is left."""
        report = SweepReport()
        budget = time_left()
        reserved = 0.0 if math.isinf(budget) else budget * REPAIR_SHARE
        self._send_checks(stale_after_seconds, lambda: time_left() - reserved, report)
        self._repair_locks(time_left, report)
        return report

    def _send_checks(
        self, stale_after_seconds: int, time_left: Callable[[], float], report: SweepReport
    ) -> None:
        cutoff = utc_now() - timedelta(seconds=stale_after_seconds)
        quiet: list[QuietRun] = []
        for status in (RunStatus.TRAINING, RunStatus.SCORING):  # SCORING: a champion's Processing job
            try:
                quiet += self.runs.list_by_status(status, updated_before=cutoff)  # oldest news first
            except Exception as exc:
                report.failed[f"runs in {status.value}"] = _reason(exc)
        quiet.sort(key=lambda run: run.updated_at)
        for start in range(0, len(quiet), SEND_BATCH_MAX):
            if time_left() <= 0:
                report.deferred += len(quiet) - start
                return
            self._send_check_batch(quiet[start : start + SEND_BATCH_MAX], report)

    def _send_check_batch(self, runs: list[QuietRun], report: SweepReport) -> None:
        try:
            refused = self.checks.send_batch([(TrainingCheck.body(r.waiting_for), 0) for r in runs])
        except Exception as exc:  # the next sweep sends them again: they are still quiet
            refused = dict.fromkeys(range(len(runs)), _reason(exc))
        for n, run in enumerate(runs):
            if n in refused:
                report.failed[f"run {run.run_id}"] = refused[n]
            else:
                report.checks_sent.append(run.run_id)

    def _repair_locks(self, time_left: Callable[[], float], report: SweepReport) -> None:
        try:
            held = self.locks.list()
        except Exception as exc:
            report.failed["locks"] = _reason(exc)
            return
        report.oldest_lock_age_seconds = 0.0
        if held:
            oldest = min(held, key=lambda lock: lock.since)
            report.oldest_lock_age_seconds = round((utc_now() - oldest.since).total_seconds(), 3)
            report.oldest_lock_model, report.oldest_lock_run_id = oldest.model, oldest.holder
        running: set[str] = set()
        try:
            running = self.workflow.running_executions() if held else set()
        except Exception as exc:  # every holder is checked one by one instead
            report.failed["running executions"] = _reason(exc)
        for lock in held:
            if lock.holder in running:
                continue  # alive; if it ended since the list was read, the next sweep sees it
            if time_left() <= 0:
                report.deferred += 1
                continue
            report.locks_checked += 1
            self._repair_one(lock, report)

    def _repair_one(self, lock: HeldLock, report: SweepReport) -> None:
        try:
            self._repair(lock, report)
        except Exception as exc:  # the next sweep tries again: every repair step is idempotent
            report.failed[f"lock {lock.model}"] = _reason(exc)

    def _repair(self, lock: HeldLock, report: SweepReport) -> None:
        """A holder that is not running: start it if it never started; if it is over (its execution
        ended without Finalize), fail its run, release the lock, stop its job and resume the next.
        The lock is read again, whole (its holder's request): what the sweep listed is only who held it."""

        def released(run_id: str) -> None:
            report.released.append(run_id)
            # Nothing waits for its training job any more: stopped before the next run starts its own.
            if stop := self.jobs.stop(run_id):
                report.stopped[run_id] = stop

        resumed = resume_lock_holder(lock.model, self.locks, self.runs, self.workflow, on_release=released)
        if resumed:
            report.resumed.append(resumed)
