"""The lock's hand-over, shared by Finalize and the reconciler: the run holding a model's lock is alive,
or is started, or the lock passes on. A module of its own so that the reconciler does not load
Finalize's stores (versions, outcomes) at cold start."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from seam.adapters.dynamodb.locks import LockStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.workflow import Workflow
from seam.errors import StaleUpdateError
from seam.models.run import RunStatus, utc_now

if TYPE_CHECKING:  # parsed by the lock store, when a lock is read whole or handed over
    from seam.models.run_request import RunRequest

LIVE_EXECUTION = frozenset({"RUNNING", "PENDING_REDRIVE"})


def resume_lock_holder(
    model: str,
    locks: LockStore,
    runs: RunStore,
    workflow: Workflow,
    holder: RunRequest | None = None,
    on_release: Callable[[str], object] = lambda _: None,
) -> str | None:
    """Make sure the run holding `model`'s lock is alive. Start it if it never started (a lost hand-over
    or a crash between taking the lock and StartExecution); release the lock if it is over (its run
    ended, or its execution closed without Finalize) and check the run it goes to, and so on. Returns
    the run id it had to start, if any.

    `holder`: the holder's request when the caller has it (the request a release just handed the lock
    to); otherwise the lock is read. `on_release(run_id)`: called for each holder released as over
    (the callers stop its training job: nobody waits for it any more)."""
    for _ in range(10):  # each round ends a holder that is over; more than a few is a bug, not a queue
        if holder is None:
            lock = locks.get(model)
            if lock is None:
                return None
            holder = lock.holder_request
        recorded = runs.status(holder.run_id)  # the run's status, not its whole record
        status = workflow.execution_status(holder.run_id) if recorded is not None else None
        if status is None or recorded is None:
            # Loaded here: a release that hands the lock to nobody (Finalize's usual case) starts nothing,
            # so Finalize's cold start does not define the start's records (bench/cold_start.py).
            from seam.domain.starting import start_run

            start_run(holder, runs, workflow)  # no execution existed: whatever the record said, start it
            return holder.run_id
        if status in LIVE_EXECUTION and not recorded.terminal:
            return None
        # Over: a redelivered request re-took the lock of its finished run, or Finalize never ran.
        if not recorded.terminal:
            with contextlib.suppress(StaleUpdateError):
                runs.update(
                    holder.run_id,
                    status=RunStatus.FAILED,
                    error="ExecutionEnded",
                    cause=f"execution ended {status} without Finalize",
                    finished_at=utc_now(),
                )
        over, holder = holder.run_id, locks.release(model, holder.run_id)
        on_release(over)
        if holder is None:
            return None
    raise StaleUpdateError(f"lock of {model} kept passing to runs that were over")
