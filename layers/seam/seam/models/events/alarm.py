"""CloudWatch "CloudWatch Alarm State Change" (source aws.cloudwatch): a model's drift alarm."""

from datetime import datetime
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field


# Every event model is built at first use (seam.models.run._Record says why).
class AlarmState(BaseModel):
    model_config = ConfigDict(defer_build=True)

    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: datetime


class AlarmDetail(BaseModel):
    model_config = ConfigDict(defer_build=True)

    alarmName: str = Field(min_length=1, max_length=255)
    state: AlarmState
    previousState: AlarmState | None = None


class AlarmStateChangeEvent(EventBridgeModel):
    """CloudWatch "CloudWatch Alarm State Change" (source aws.cloudwatch)."""

    model_config = ConfigDict(defer_build=True)

    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmDetail
