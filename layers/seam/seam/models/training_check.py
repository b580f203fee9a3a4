"""The reconciler's check of a quiet training, sent to the training callback's queue.

Apart from seam.models.events so that the reconciler, which only writes it, does not load the event
models (Powertools' parser models) at cold start.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

TRAINING_JOB_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # CreateTrainingJob's TrainingJobName


class TrainingCheckDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    TrainingJobName: str = Field(pattern=TRAINING_JOB_NAME_PATTERN)


class TrainingCheck(BaseModel):
    """The reconciler's request to check a training nothing has been heard of for a while (the callback
    settles or heartbeats it, as for an event): one small message per run, so a sweep's cost per run is a
    tenth of a SendMessageBatch call and the checks run on the callback's concurrency."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Settlements of checks are claimed as the reconciler's: a claim whose send never completed is
    # finished by a later check of the same run, whichever message carries it.
    CLAIMANT: ClassVar[str] = "reconciler"

    source: Literal["seam.reconciler"]
    detail_type: Literal["Training Check Requested"] = Field(alias="detail-type")
    detail: TrainingCheckDetail

    @property
    def hint(self) -> str:
        return "check"

    @property
    def job_name(self) -> str:
        """The job whose token the check settles: a training job, or a champion scoring job."""
        return self.detail.TrainingJobName

    @classmethod
    def body(cls, job_name: str) -> str:
        detail = TrainingCheckDetail(TrainingJobName=job_name)
        check = cls(source="seam.reconciler", detail_type="Training Check Requested", detail=detail)
        return check.model_dump_json(by_alias=True)
