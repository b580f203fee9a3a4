"""SageMaker "Training Job State Change" events, as the training callback receives them (through SQS).

Powertools' EventBridge envelope, with the detail fields Seam reads. The event is only a hint: the
callback asks DescribeTrainingJob for the truth (metrics are not in the event).
"""

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seam.errors import BadEventError
from seam.models.message_body import load_body, validation_reason


# Built at first use (seam.models.run._Record says why).
class TrainingJobDetail(BaseModel):
    """The fields Seam reads from "SageMaker Training Job State Change"."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    TrainingJobName: str = Field(min_length=1, max_length=63)
    TrainingJobStatus: Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
    SecondaryStatus: str | None = None


class TrainingStateChangeEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Training Job State Change"] = Field(alias="detail-type")
    detail: TrainingJobDetail


def parse_training_body(body: str) -> TrainingStateChangeEvent:
    payload = load_body(body)
    try:
        return TrainingStateChangeEvent.model_validate(payload)
    except ValidationError as exc:
        raise BadEventError(f"invalid training state change: {validation_reason(exc)}") from exc
