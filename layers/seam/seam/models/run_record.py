"""The run record (runs table): one per run, with its outcome, timings and cost.

Apart from run.py's records: no handler defines it, nor the cost records it nests, at cold start
(bench/cold_start.py): the states update a run's fields, Finalize reads a projection of it
(run_progress.py), the trigger writes runs as they are opened (run_opening.py, this record's base),
the reconciler reads only what it checks. The CLI, lineage and budget checks read whole runs.
"""

from datetime import datetime
from typing import Any

from pydantic import Field

from seam.models.cost import RunCost
from seam.models.decision import Decision
from seam.models.evaluation import Evaluation
from seam.models.run_opening import RunOpening
from seam.models.snapshot import Snapshot


class Run(RunOpening):
    """The run record (runs table): the fields of its opening, and those the states fill in."""

    team: str | None = None  # the model's team when its training launched (cost per team)
    heartbeat_at: datetime | None = None  # the last SendTaskHeartbeat Step Functions accepted
    snapshot: Snapshot | None = None
    training_job_name: str | None = None
    champion_scoring_job_name: str | None = None  # the Processing job that scored the champion, if any
    metrics: dict[str, float] = Field(default_factory=dict)
    evaluation: Evaluation | None = None
    previous_serving: dict[str, Any] | None = None  # DeploymentSnapshot before the patch
    rollout: dict[str, Any] | None = None
    decision: Decision | None = None  # a deploy run's: who approved (or rolled back), why, forced or not
    # Later decisions on the version this run registered (a rejection; Seam marking a failed rollout),
    # keyed by the registry change they came from.
    decisions: dict[str, Decision] = Field(default_factory=dict)
    state_timings: dict[str, float] = Field(default_factory=dict)  # status -> seconds spent in it
    cost: RunCost | None = None  # what the run used, priced (Finalize measures it, seam.domain.costing)
