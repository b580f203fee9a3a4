"""What Finalize reads of a run record (`RunStore.progress`, a projected GetItem): whether it already
ended, when it entered each status, what to price it by, and what an earlier attempt recorded. Apart
from the whole record (run_record.py), whose classes Finalize would otherwise define and build at every
cold start (bench/cold_start.py) to read these few fields."""

from datetime import datetime

from pydantic import ConfigDict, Field

from seam.models.cost import RunCost
from seam.models.run import RunStatus, _Record


class RunProgress(_Record):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    status: RunStatus
    timeline: dict[str, datetime] = Field(default_factory=dict)  # status -> when the run entered it
    team: str | None = None  # the model's team when its training launched (cost per team)
    training_job_name: str | None = None
    champion_scoring_job_name: str | None = None
    # An ended run's, as its first Finalize recorded them (a retried Finalize reports the same).
    state_timings: dict[str, float] = Field(default_factory=dict)
    cost: RunCost | None = None
