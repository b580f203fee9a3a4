"""The reconciler's check of a quiet training, sent to the training callback's queue.

Apart from seam.models.events so that the reconciler, which only writes it, does not load the event
models (Powertools' parser models) at cold start.
"""

from __future__ import annotations

import json
import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

TRAINING_JOB_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # CreateTrainingJob's TrainingJobName
_JOB_NAME = re.compile(TRAINING_JOB_NAME_PATTERN)


# Built at first use (seam.models.run._Record says why): by the callback's first check; the reconciler,
# which only writes checks (`TrainingCheck.body`), never builds them.
class TrainingCheckDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    TrainingJobName: str = Field(pattern=TRAINING_JOB_NAME_PATTERN)


class TrainingCheck(BaseModel):
    """The reconciler's request to check a training nothing has been heard of for a while (the callback
    settles or heartbeats it, as for an event): one small message per run, so a sweep's cost per run is a
    tenth of a SendMessageBatch call and the checks run on the callback's concurrency."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

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
        """The check's message body: what `model_dump_json(by_alias=True)` of the check writes, written
        without building the models (about 1.5 ms of the reconciler's cold start, which only writes
        checks; tests/unit/test_events.py keeps the two the same). The name is checked as the model
        checks it."""
        if not _JOB_NAME.fullmatch(job_name):
            raise ValueError(f"{job_name[:80]!r} is not a training job name ({TRAINING_JOB_NAME_PATTERN})")
        detail = {"TrainingJobName": job_name}
        check = {"source": "seam.reconciler", "detail-type": "Training Check Requested", "detail": detail}
        return json.dumps(check, separators=(",", ":"), ensure_ascii=False)
