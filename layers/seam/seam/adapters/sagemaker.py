"""SageMaker: training jobs, the Processing jobs that score a champion of another image, and the Model
Registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from seam.adapters.aws import aws_call, cause_code, client
from seam.errors import RegistryError, SeamError, TrainingCapacityError, TrainingError


class JobStop(NamedTuple):
    """What StopTrainingJob answered: `stopping`, or why there was nothing to stop."""

    job_name: str
    stopping: bool
    reason: str


class TrainingJobs:
    """Training jobs, and the Processing jobs that score a champion of another image: the same three
    calls on each (create, describe, stop), with the same answers for a retried or a finished job."""

    @property
    def sm(self) -> Any:
        return client("sagemaker")

    def create(self, request: dict[str, Any]) -> bool:
        """CreateTrainingJob; False when a job of that name already exists (the launch was retried)."""
        name = request["TrainingJobName"]
        return _create(f"CreateTrainingJob {name}", lambda: self.sm.create_training_job(**request))

    def describe(self, job_name: str) -> dict[str, Any] | None:
        return _describe(
            f"DescribeTrainingJob {job_name}", lambda: self.sm.describe_training_job(TrainingJobName=job_name)
        )

    def tags(self, job_arn: str) -> dict[str, str]:
        """The job's tags (ListTags: DescribeTrainingJob does not return them)."""
        with aws_call(f"ListTags {job_arn}", TrainingError):
            pages = self.sm.get_paginator("list_tags").paginate(ResourceArn=job_arn)
            return {tag["Key"]: tag["Value"] for page in pages for tag in page.get("Tags", [])}

    def stop(self, job_name: str) -> JobStop:
        """StopTrainingJob, idempotent: a job that already ended or is stopping (ValidationException
        "... the training job is in status Stopped.") or that never existed is not an error."""
        return _stop("StopTrainingJob", job_name, lambda: self.sm.stop_training_job(TrainingJobName=job_name))

    # -- Processing jobs (seam.domain.champion_scoring) ----------------------------------------------------

    def create_processing(self, request: dict[str, Any]) -> bool:
        """CreateProcessingJob; False when a job of that name already exists (the launch was retried)."""
        name = request["ProcessingJobName"]
        return _create(f"CreateProcessingJob {name}", lambda: self.sm.create_processing_job(**request))

    def describe_processing(self, job_name: str) -> dict[str, Any] | None:
        return _describe(
            f"DescribeProcessingJob {job_name}",
            lambda: self.sm.describe_processing_job(ProcessingJobName=job_name),
        )

    def stop_processing(self, job_name: str) -> JobStop:
        """StopProcessingJob, idempotent as `stop`: a job that ended or never existed is not an error."""
        return _stop(
            "StopProcessingJob", job_name, lambda: self.sm.stop_processing_job(ProcessingJobName=job_name)
        )


def _create(what: str, call: Callable[[], Any]) -> bool:
    try:
        with aws_call(what, TrainingError):
            call()
        return True
    except SeamError as exc:
        if cause_code(exc) == "ResourceInUse" or "already exists" in str(exc):
            return False
        if cause_code(exc) == "ResourceLimitExceeded":
            raise TrainingCapacityError(str(exc)) from exc
        raise


def _describe(what: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """The job's description; None when there is no such job."""
    try:
        with aws_call(what, TrainingError):
            return call()
    except SeamError as exc:
        if cause_code(exc) in ("ResourceNotFound", "ValidationException") and "not" in str(exc).lower():
            return None
        raise


def _stop(action: str, job_name: str, call: Callable[[], Any]) -> JobStop:
    try:
        with aws_call(f"{action} {job_name}", TrainingError):
            call()
        return JobStop(job_name, stopping=True, reason=f"{action} accepted")
    except SeamError as exc:
        if cause_code(exc) in ("ValidationException", "ResourceNotFound"):
            return JobStop(job_name, stopping=False, reason=str(exc.__cause__))
        raise


class ModelRegistry:
    @property
    def sm(self) -> Any:
        return client("sagemaker")

    def ensure_group(self, group_name: str, description: str, tags: list[dict[str, str]]) -> None:
        try:
            with aws_call(f"DescribeModelPackageGroup {group_name}", RegistryError):
                self.sm.describe_model_package_group(ModelPackageGroupName=group_name)
            return
        except SeamError as exc:
            if cause_code(exc) not in ("ValidationException", "ResourceNotFound"):
                raise
        try:
            with aws_call(f"CreateModelPackageGroup {group_name}", RegistryError):
                self.sm.create_model_package_group(
                    ModelPackageGroupName=group_name, ModelPackageGroupDescription=description, Tags=tags
                )
        except SeamError as exc:
            if "already exists" not in str(exc):  # a concurrent register created it first
                raise

    def create_version(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateModelPackage (idempotent through ClientToken) and return its description."""
        with aws_call(f"CreateModelPackage {request['ModelPackageGroupName']}", RegistryError):
            arn = self.sm.create_model_package(**request)["ModelPackageArn"]
        with aws_call(f"DescribeModelPackage {arn}", RegistryError):
            return self.sm.describe_model_package(ModelPackageName=arn)

    def describe_version(self, package_arn: str) -> dict[str, Any]:
        """DescribeModelPackage: the registry's truth about a version (approval status, who changed it)."""
        with aws_call(f"DescribeModelPackage {package_arn}", RegistryError):
            return self.sm.describe_model_package(ModelPackageName=package_arn)

    def set_approval(self, package_arn: str, status: str, description: str, metadata: dict[str, str]) -> None:
        """UpdateModelPackage: approve or reject a version, with why and Seam's decision metadata
        (the registry keeps the other CustomerMetadataProperties)."""
        with aws_call(f"UpdateModelPackage {package_arn} -> {status}", RegistryError):
            self.sm.update_model_package(
                ModelPackageArn=package_arn,
                ModelApprovalStatus=status,
                ApprovalDescription=description[:1024],
                CustomerMetadataProperties=metadata,
            )
