"""`seam trigger MODEL` (source seam.manual)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from seam.models.names import MODEL_NAME_PATTERN


class ManualDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    model: str = Field(pattern=MODEL_NAME_PATTERN)
    requested_by: str = Field(default="unknown", max_length=128)
    reason: str = Field(default="", max_length=1024)
    dataset_key: str | None = Field(default=None, max_length=1024)  # default: the newest under its prefix
    force: bool = False  # train even when the data is what the champion was trained on


class ManualRequest(BaseModel):
    """`seam trigger MODEL`."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    source: Literal["seam.manual"]
    detail_type: Literal["Manual Retrain Requested"] = Field(alias="detail-type")
    id: str = Field(min_length=1, max_length=200)
    time: datetime
    detail: ManualDetail
