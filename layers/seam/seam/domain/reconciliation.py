"""The reconciler's sweep: settle runs whose training event was lost, and free locks of dead runs.

Runs in TRAINING longer than the threshold are settled through the callback's code path
(DescribeTrainingJob -> success / failure / heartbeat). A lock whose holder never started is started;
a lock whose holder's execution ended without Finalize (e.g. Finalize exhausted its retries) is
released, the run marked FAILED, and the pending run started.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from seam.adapters.dynamodb import LockStore, RunStore
from seam.adapters.sagemaker import TrainingJobs
from seam.adapters.workflow import Workflow
from seam.domain.finalization import resume_lock_holder
from seam.domain.training import TrainingSettler
from seam.errors import StaleUpdateError
from seam.models.run import RunStatus, utc_now


@dataclass
class SweepReport:
    settled: dict[str, str] = field(default_factory=dict)  # run id -> settlement
    resumed: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


@dataclass
class Reconciler:
    runs: RunStore
    locks: LockStore
    training: TrainingJobs
    workflow: Workflow
    settler: TrainingSettler

    def sweep(self, stale_after_seconds: int) -> SweepReport:
        report = SweepReport()
        cutoff = utc_now() - timedelta(seconds=stale_after_seconds)
        for run in self.runs.list_by_status(RunStatus.TRAINING, updated_before=cutoff):
            job = run.training_job_name or run.run_id
            report.settled[run.run_id] = self.settler.settle(job, self.training.describe).value
        for lock in self.locks.list():
            self._repair(lock["model"], lock.get("holder"), report)
        return report

    def _repair(self, model: str, holder: str | None, report: SweepReport) -> None:
        if not holder:
            return
        run = self.runs.get(holder)
        status = self.workflow.execution_status(holder) if run else None
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
            self.locks.release(model, holder)
            report.released.append(holder)
        resumed = resume_lock_holder(model, self.locks, self.runs, self.workflow)
        if resumed:
            report.resumed.append(resumed)
