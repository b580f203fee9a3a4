"""EventBridge Scheduler's tick (source seam.schedule): the models whose cadence is due retrain."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScheduleTick(BaseModel):
    """What EventBridge Scheduler puts on the trigger queue every 15 minutes (the schedule's Input)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    source: Literal["seam.schedule"]
    detail_type: Literal["Scheduled Retrain Tick"] = Field(alias="detail-type")
    time: datetime
    id: str = Field(min_length=1, max_length=200)
