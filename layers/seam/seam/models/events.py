"""The events the trigger consumes, as pydantic models (the training callback's are in
training_events.py).

Powertools' parser models are used where they exist (EventBridge envelope, S3 Object Created);
the CloudWatch alarm detail, the schedule tick and the manual request have their own. Every body
arrives through SQS, so `parse_trigger_body` takes the raw body.
"""

import re
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seam.errors import BadEventError
from seam.models.message_body import load_body, validation_reason
from seam.models.names import MODEL_NAME_PATTERN
from seam.models.run import TriggerKind
from seam.models.run_request import RunRequest


# Every event model is built at first use (seam.models.run._Record says why): a body is parsed by
# the one model its source names, so a cold trigger builds only the kind it receives first.
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


class ScheduleTick(BaseModel):
    """What EventBridge Scheduler puts on the trigger queue every 15 minutes (the schedule's Input)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    source: Literal["seam.schedule"]
    detail_type: Literal["Scheduled Retrain Tick"] = Field(alias="detail-type")
    time: datetime
    id: str = Field(min_length=1, max_length=200)


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


class QueuedRequest(BaseModel):
    """One model's retrain, queued by the trigger itself when a schedule tick fans out."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    source: Literal["seam.trigger"]
    detail_type: Literal["Retrain Requested"] = Field(alias="detail-type")
    detail: RunRequest

    @field_validator("detail")
    @classmethod
    def _scheduled_only(cls, request: RunRequest) -> RunRequest:
        if request.trigger is not TriggerKind.SCHEDULE:  # the only requests the trigger queues for itself
            raise ValueError(f"only scheduled retrains are queued, not {request.trigger!r}")
        return request

    @classmethod
    def body(cls, request: RunRequest) -> str:
        return cls(source="seam.trigger", detail_type="Retrain Requested", detail=request).model_dump_json(
            by_alias=True
        )


class ModelPackageDetail(BaseModel):
    """The fields Seam reads from "SageMaker Model Package State Change" (the detail is the package's
    DescribeModelPackage shape); the registry stays the truth: a deploy run describes the package again."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    ModelPackageGroupName: str = Field(min_length=1, max_length=63)
    ModelPackageVersion: int = Field(ge=1)
    ModelPackageArn: str = Field(min_length=1, max_length=2048)
    ModelApprovalStatus: Literal["Approved", "Rejected", "PendingManualApproval"]
    ApprovalDescription: str | None = Field(default=None, max_length=1024)
    CreationTime: datetime | None = None
    LastModifiedTime: datetime | None = None
    LastModifiedBy: dict[str, Any] | None = None
    CustomerMetadataProperties: dict[str, str] | None = None

    @property
    def changed_at(self) -> datetime | None:
        """When this approval change happened: the same in every copy SageMaker sends of it."""
        return self.LastModifiedTime or self.CreationTime


class ModelPackageStateChangeEvent(EventBridgeModel):
    """SageMaker "SageMaker Model Package State Change" (source aws.sagemaker): a version was
    registered, approved or rejected, in Studio, with the AWS CLI or with `seam approve/reject`."""

    model_config = ConfigDict(defer_build=True)

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Package State Change"] = Field(alias="detail-type")
    detail: ModelPackageDetail


class OperatorRequest(BaseModel):
    """`seam rollback` and `seam runs retry`: the run request the CLI checked and built (its run id
    printed before it was sent)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    source: Literal["seam.operator"]
    detail_type: Literal["Run Requested"] = Field(alias="detail-type")
    detail: RunRequest

    @field_validator("detail")
    @classmethod
    def _rollback_or_retry(cls, request: RunRequest) -> RunRequest:
        if request.trigger is not TriggerKind.ROLLBACK and request.retry_of is None:
            raise ValueError("an operator asks for a rollback or a retry, nothing else")
        return request

    @classmethod
    def body(cls, request: RunRequest) -> str:
        return cls(source="seam.operator", detail_type="Run Requested", detail=request).model_dump_json(
            by_alias=True
        )


TriggerEvent = (
    S3EventNotificationEventBridgeModel
    | AlarmStateChangeEvent
    | ScheduleTick
    | ManualRequest
    | QueuedRequest
    | ModelPackageStateChangeEvent
    | OperatorRequest
)

_TRIGGER_MODELS: dict[str, type[BaseModel]] = {
    "aws.s3": S3EventNotificationEventBridgeModel,
    "aws.cloudwatch": AlarmStateChangeEvent,
    "seam.schedule": ScheduleTick,
    "seam.manual": ManualRequest,
    "seam.trigger": QueuedRequest,
    "aws.sagemaker": ModelPackageStateChangeEvent,  # training state changes go to the callback queue
    "seam.operator": OperatorRequest,
}


def parse_trigger_body(body: str) -> TriggerEvent:
    payload = load_body(body)
    source = payload.get("source")
    model = _TRIGGER_MODELS.get(source) if isinstance(source, str) else None
    if model is None:
        raise BadEventError(f"unsupported event source {str(source)[:64]!r} on the trigger queue")
    try:
        return model.model_validate(payload)  # type: ignore[return-value]
    except ValidationError as exc:
        raise BadEventError(f"invalid {source} event: {validation_reason(exc)}") from exc


_DATASET_KEY = re.compile(r"^datasets/(?P<model>[^/]+)/(?P<rest>.+)$")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1 (NEL \x85 splits lines)
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def model_from_dataset_key(key: str) -> str:
    """`datasets/<model>/<file>` -> model; anything else is rejected with the reason."""
    if _CONTROL_CHARS.search(key):
        raise BadEventError("object key contains control characters")
    match = _DATASET_KEY.match(key)
    if not match:
        raise BadEventError(f"object key {key[:200]!r} is not under datasets/<model>/")
    if any(part in ("", ".", "..") for part in match["rest"].split("/")) or key.endswith("/"):
        raise BadEventError(f"object key {key[:200]!r} has an empty, '.' or '..' path segment")
    if not _MODEL_NAME.match(match["model"]):
        raise BadEventError(f"{match['model'][:64]!r} in {key[:200]!r} is not a valid model name")
    return match["model"]
