"""The reconciler's sweep: settle runs whose training event was lost, and free locks of dead runs.

Runs in TRAINING longer than the threshold are settled through the callback's code path
(DescribeTrainingJob -> success / failure / heartbeat). A lock whose holder never started is started;
a lock whose holder's execution ended without Finalize (e.g. Finalize exhausted its retries, or the
execution was aborted) is released, the run marked FAILED, its training job stopped if its token was
never settled, and the pending run started.

At scale (1,000 models, every lock held) the sweep stays a handful of calls: one ListExecutions pass
names the running executions, and only locks whose holder is not among them are checked one by one
(about five calls each). Work left when the invocation nears its timeout is left for the next sweep.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from seam.adapters.dynamodb.locks import LockStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.sagemaker import TrainingJobs
from seam.adapters.workflow import Workflow
from seam.domain.finalization import resume_lock_holder
from seam.domain.training import OrphanedJobs, TrainingSettler
from seam.errors import StaleUpdateError
from seam.models.run import RunStatus, utc_now


@dataclass
class SweepReport:
    settled: dict[str, str] = field(default_factory=dict)  # run id -> settlement
    resumed: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)  # released run id -> what StopTrainingJob said
    locks_checked: int = 0  # held locks whose holder was not listed as running
    deferred: int = 0  # runs or locks left for the next sweep: the invocation was running out of time


@dataclass
class Reconciler:
    runs: RunStore
    locks: LockStore
    training: TrainingJobs
    workflow: Workflow
    settler: TrainingSettler
    jobs: OrphanedJobs

    def sweep(
        self, stale_after_seconds: int, time_left: Callable[[], float] = lambda: float("inf")
    ) -> SweepReport:
        """`time_left()`: seconds this sweep may still start work in (the invocation's remaining time
        less a margin); when it reaches 0 the rest is counted as deferred."""
        report = SweepReport()
        cutoff = utc_now() - timedelta(seconds=stale_after_seconds)
        for run in self.runs.list_by_status(RunStatus.TRAINING, updated_before=cutoff):
            if time_left() <= 0:
                report.deferred += 1
                continue
            job = run.training_job_name or run.run_id
            report.settled[run.run_id] = self.settler.settle(job, self.training.describe).value
        held = self.locks.list()
        running = self.workflow.running_executions() if held else set()
        for lock in held:
            if lock.holder in running:
                continue  # alive; if it ended since the list was read, the next sweep sees it
            if time_left() <= 0:
                report.deferred += 1
                continue
            report.locks_checked += 1
            self._repair(lock.model, lock.holder, report)
        return report

    def _repair(self, model: str, holder: str, report: SweepReport) -> None:
        run = self.runs.get(holder)
        status = self.workflow.execution_status(holder) if run else None
        handed_to = None
        if run and status not in (None, "RUNNING", "PENDING_REDRIVE"):
            # The execution is over but its lock is held: Finalize never completed.
            if not run.status.terminal:
                with contextlib.suppress(StaleUpdateError):
                    self.runs.update(
                        holder,
                        status=RunStatus.FAILED,
                        error="ExecutionEnded",
                        cause=f"execution ended {status} without Finalize",
                        finished_at=utc_now(),
                    )
            handed_to = self.locks.release(model, holder)
            report.released.append(holder)
            # Nothing waits for its training job any more: stopped before the next run starts its own.
            if stop := self.jobs.stop(holder):
                report.stopped[holder] = stop.reason
        resumed = resume_lock_holder(model, self.locks, self.runs, self.workflow, handed_to)
        if resumed:
            report.resumed.append(resumed)
