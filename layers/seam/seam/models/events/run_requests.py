"""Run requests Seam sends itself (sources seam.trigger and seam.operator): a tick's queued retrain, and
`seam rollback` / `seam runs retry`. Each carries the RunRequest as it was checked and built."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from seam.models.run import TriggerKind
from seam.models.run_request import RunRequest


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
