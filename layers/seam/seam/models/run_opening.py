"""A run as the trigger opens it: the fields of the run record (runs table) a run has when it is started,
superseded by a newer request, or refused, and the base of the whole record (run_record.Run).

Its own module, without the sections the states fill in later (snapshot, evaluation, decisions, cost),
because the trigger writes only these records: building the whole record cost its cold start about
4 ms, and defining it with its cost records another 2 (bench/cold_start.py). An opening is stored with
the whole record's shape (`item`): the fields a run fills in later are stored as a new run has them.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field

from seam.models.deploy_order import DeployOrder
from seam.models.run import DatasetRef, RunStatus, TriggerKind, _Record, utc_now
from seam.models.run_request import RunRequest

if TYPE_CHECKING:
    from seam.errors import ConfigRefusedError


class RunOpening(_Record):
    """The run record as a run is opened (STARTED, SUPERSEDED, or FAILED when its config refuses it)."""

    model_config = ConfigDict(extra="ignore")

    # The whole record's other fields (run_record.Run declares them), as a run has them when it is
    # opened: stored with it, so an opened run's item has the shape of a whole run's (a later update
    # sets a key of its maps). tests/unit/test_run_opening.py keeps this in step with Run's defaults.
    LATER: ClassVar[dict[str, Any]] = {
        "team": None,
        "heartbeat_at": None,
        "snapshot": None,
        "training_job_name": None,
        "champion_scoring_job_name": None,
        "metrics": {},
        "evaluation": None,
        "previous_serving": None,
        "rollout": None,
        "decision": None,
        "decisions": {},
        "state_timings": {},
        "cost": None,
    }

    run_id: str
    model: str
    trigger: TriggerKind
    status: RunStatus = RunStatus.STARTED
    started_at: datetime = Field(default_factory=utc_now)
    # The last write, a heartbeat included: for a run in TRAINING, when Seam last had news of it (the
    # reconciler checks runs in TRAINING oldest news first, by-status index).
    updated_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    dataset: DatasetRef | None = None
    model_version: str | None = None
    error: str | None = None
    cause: str | None = None
    intent: str | None = None  # what asked for the run (RunRequest.intent): the trigger event's identity
    deploy: DeployOrder | None = None  # a deploy run's order
    retry_of: str | None = None
    timeline: dict[str, datetime] = Field(default_factory=dict)  # status -> when the run entered it
    superseded_by: str | None = None  # SUPERSEDED: the run whose newer request took this one's place

    def model_post_init(self, _context: Any) -> None:
        self.timeline.setdefault(self.status.value, self.started_at)

    def item(self) -> dict[str, Any]:
        """The record as stored (JSON values): every field of the whole record."""
        stored = self.model_dump(mode="json")
        for name, value in self.LATER.items():  # a whole record (Run) has them all: its own are kept
            stored.setdefault(name, dict(value) if isinstance(value, dict) else value)
        return stored

    @staticmethod
    def _asked(request: RunRequest) -> dict[str, Any]:
        """What every record of a request says it asked for (a refused request is a retrain: no order)."""
        return {
            "run_id": request.run_id,
            "model": request.model,
            "trigger": request.trigger,
            "dataset": request.dataset,
            "intent": request.intent,
            "deploy": request.deploy,
            "model_version": request.deploy.version if request.deploy else None,
            "retry_of": request.retry_of,
        }

    @classmethod
    def started(cls, request: RunRequest) -> "RunOpening":
        """The record of a run whose request took its model's lock: STARTED, what it was asked for."""
        return cls(**cls._asked(request))

    @classmethod
    def superseded(cls, request: RunRequest, by: str) -> "RunOpening":
        """The record of a request that never starts because a newer one of its kind took its place:
        when it was asked for (`started_at`, so `seam runs` lists it where it happened), what it
        asked for, and the run that took its place. Written where the lock decides it."""
        now = utc_now()
        return cls(
            **cls._asked(request),
            status=RunStatus.SUPERSEDED,
            started_at=request.requested_at,
            updated_at=now,
            finished_at=now,
            superseded_by=by,
            cause=f"superseded by {by}: a newer {request.lock_slot} request of {request.model}",
            timeline={RunStatus.SUPERSEDED.value: now},
        )

    @classmethod
    def refused(cls, request: RunRequest, refusal: "ConfigRefusedError") -> "RunOpening":
        """The record of a retrain its model's stored config refuses: FAILED with the problems, nothing
        started and no lock taken (`seam runs retry` starts it again once the config is fixed)."""
        now = utc_now()
        return cls(
            **cls._asked(request),
            status=RunStatus.FAILED,
            started_at=request.requested_at,
            finished_at=now,
            error=type(refusal).__name__,
            cause=f"{type(refusal).__name__}: {refusal}",
            timeline={RunStatus.FAILED.value: now},
        )
