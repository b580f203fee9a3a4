"""What the reconciler's sweep reads: the runs it may have to check (`RunStore.list_by_status`) and the
held locks (`LockStore.list`). A module of its own, not the stores': every handler loads the runs store
and several the locks store, but only the reconciler sweeps (bench/cold_start.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from seam.models.run import RunStatus


class QuietRun(NamedTuple):
    """What the reconciler reads of a run it may have checked (`RunStore.list_by_status`): a projection,
    so its sweep neither reads the rest of the record nor loads its classes. A NamedTuple
    (seam.adapters.dynamodb.tokens.TokenRecord says why)."""

    run_id: str
    status: RunStatus
    updated_at: datetime  # when Seam last had news of it
    training_job_name: str | None = None
    champion_scoring_job_name: str | None = None

    @property
    def waiting_for(self) -> str:
        """The job it waits for: its champion's scoring job while SCORING, else its training job."""
        if self.status is RunStatus.SCORING and self.champion_scoring_job_name:
            return self.champion_scoring_job_name
        return self.training_job_name or self.run_id

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> QuietRun:
        """From the projected item as JSON values (codec.from_item)."""
        return cls(
            run_id=data["run_id"],
            status=RunStatus(data["status"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            training_job_name=data.get("training_job_name"),
            champion_scoring_job_name=data.get("champion_scoring_job_name"),
        )


class HeldLock(NamedTuple):
    """A held lock as the reconciler's sweep reads it (`LockStore.list`): who holds it and since when,
    not the requests it keeps, which a lock's repair reads whole (`LockStore.get`). A NamedTuple
    (seam.adapters.dynamodb.tokens.TokenRecord says why)."""

    model: str
    holder: str  # run id of the run holding the lock
    since: datetime  # when the holder took the lock (acquired, or handed over)
