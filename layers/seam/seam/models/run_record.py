"""The run record (runs table): one per run, with its outcome, timings and cost.

Apart from run.py's records: only the handlers that read or write whole run records (the trigger,
Finalize, the serving functions, the reconciler) define it and the cost records it nests; the states
that only update a run's fields do not (bench/cold_start.py).
"""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from seam.models.cost import RunCost
from seam.models.decision import Decision
from seam.models.evaluation import Evaluation
from seam.models.run import DatasetRef, DeployOrder, RunStatus, TriggerKind, _Record, utc_now
from seam.models.run_request import RunRequest
from seam.models.snapshot import Snapshot


class Run(_Record):
    """The run record (runs table)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    model: str
    trigger: TriggerKind
    status: RunStatus = RunStatus.STARTED
    team: str | None = None  # the model's team when its training launched (cost per team)
    started_at: datetime = Field(default_factory=utc_now)
    # The last write, a heartbeat included: for a run in TRAINING, when Seam last had news of it (the
    # reconciler checks runs in TRAINING oldest news first, by-status index).
    updated_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None  # the last SendTaskHeartbeat Step Functions accepted
    dataset: DatasetRef | None = None
    snapshot: Snapshot | None = None
    training_job_name: str | None = None
    champion_scoring_job_name: str | None = None  # the Processing job that scored the champion, if any
    metrics: dict[str, float] = Field(default_factory=dict)
    evaluation: Evaluation | None = None
    model_version: str | None = None
    previous_serving: dict[str, Any] | None = None  # DeploymentSnapshot before the patch
    rollout: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    intent: str | None = None  # what asked for the run (RunRequest.intent): the trigger event's identity
    deploy: DeployOrder | None = None  # a deploy run's order
    decision: Decision | None = None  # a deploy run's: who approved (or rolled back), why, forced or not
    # Later decisions on the version this run registered (a rejection; Seam marking a failed rollout),
    # keyed by the registry change they came from.
    decisions: dict[str, Decision] = Field(default_factory=dict)
    retry_of: str | None = None
    timeline: dict[str, datetime] = Field(default_factory=dict)  # status -> when the run entered it
    state_timings: dict[str, float] = Field(default_factory=dict)  # status -> seconds spent in it
    cost: RunCost | None = None  # what the run used, priced (Finalize measures it, seam.domain.costing)
    superseded_by: str | None = None  # SUPERSEDED: the run whose newer request took this one's place

    def model_post_init(self, _context: Any) -> None:
        self.timeline.setdefault(self.status.value, self.started_at)

    @classmethod
    def superseded(cls, request: RunRequest, by: str) -> "Run":
        """The record of a request that never starts because a newer one of its kind took its place:
        when it was asked for (`started_at`, so `seam runs` lists it where it happened), what it
        asked for, and the run that took its place. Written where the lock decides it."""
        now = utc_now()
        return cls(
            run_id=request.run_id,
            model=request.model,
            trigger=request.trigger,
            status=RunStatus.SUPERSEDED,
            started_at=request.requested_at,
            updated_at=now,
            finished_at=now,
            dataset=request.dataset,
            intent=request.intent,
            deploy=request.deploy,
            model_version=request.deploy.version if request.deploy else None,
            retry_of=request.retry_of,
            superseded_by=by,
            cause=f"superseded by {by}: a newer {request.lock_slot} request of {request.model}",
            timeline={RunStatus.SUPERSEDED.value: now},
        )
