"""The champion pointer (the item (model, "champion") of the versions table). Apart from the version
records, which only Register writes: Validate, Evaluate and Finalize read or move the champion."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from seam.models.run import utc_now


# Built at first use (seam.models.run._Record says why).
class Champion(BaseModel):
    """The version that serves today: what challengers are compared against."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    model: str
    version: str
    metric: str
    value: float
    dataset_fingerprint: str | None = None
    run_id: str
    updated_at: datetime = Field(default_factory=utc_now)
