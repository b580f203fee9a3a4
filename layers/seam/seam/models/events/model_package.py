"""SageMaker "SageMaker Model Package State Change" (source aws.sagemaker): a version registered,
approved or rejected (training state changes go to the callback queue, not here)."""

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field


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
