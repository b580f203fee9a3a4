"""What the training callback receives (through SQS): SageMaker "Training Job State Change" events,
"Processing Job State Change" events (a champion scored by its own image, seam.domain.champion_scoring)
and the reconciler's checks of quiet trainings and scorings.

Powertools' EventBridge envelope, with the detail fields Seam reads. The event is only a hint: the
callback asks DescribeTrainingJob for the truth (metrics are not in the event).
"""

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seam.errors import BadEventError
from seam.models.message_body import load_body, validation_reason
from seam.models.training_check import TrainingCheck


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

    @property
    def hint(self) -> str:
        return self.detail.TrainingJobStatus

    @property
    def job_name(self) -> str:
        return self.detail.TrainingJobName


class ProcessingJobDetail(BaseModel):
    """The fields Seam reads from "SageMaker Processing Job State Change" (the detail carries the job's
    DescribeProcessingJob fields; the callback describes the job again for the truth)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    ProcessingJobName: str = Field(min_length=1, max_length=63)
    ProcessingJobStatus: Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


class ProcessingStateChangeEvent(EventBridgeModel):
    model_config = ConfigDict(defer_build=True)

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    detail: ProcessingJobDetail

    @property
    def hint(self) -> str:
        return self.detail.ProcessingJobStatus

    @property
    def job_name(self) -> str:
        return self.detail.ProcessingJobName


TrainingMessage = TrainingStateChangeEvent | ProcessingStateChangeEvent | TrainingCheck


def parse_training_body(body: str) -> TrainingMessage:
    payload = load_body(body)
    if payload.get("source") == "seam.reconciler":
        try:
            return TrainingCheck.model_validate(payload)
        except ValidationError as exc:
            raise BadEventError(f"invalid training check: {validation_reason(exc)}") from exc
    if payload.get("detail-type") == "SageMaker Processing Job State Change":
        try:
            return ProcessingStateChangeEvent.model_validate(payload)
        except ValidationError as exc:
            raise BadEventError(f"invalid processing state change: {validation_reason(exc)}") from exc
    try:
        return TrainingStateChangeEvent.model_validate(payload)
    except ValidationError as exc:
        raise BadEventError(f"invalid training state change: {validation_reason(exc)}") from exc
