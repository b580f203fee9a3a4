"""Processing jobs run instead of completing at once, as training jobs do (training_runner). moto marks a
processing job Completed the moment it is created, and drops the request's ProcessingResources (its
backend takes no such argument). While installed, CreateProcessingJob refuses a job name that exists
(ResourceInUse, as SageMaker does; moto would replace the job), keeps ProcessingResources and
Environment on the job (DescribeProcessingJob then reports them), and, with a runner, leaves the job
InProgress and hands it to the runner (seam_local.sagemaker.LocalSageMaker.start_processing).
StopProcessingJob refuses a job that is not InProgress (SageMaker's ValidationException) and hands a
running one to the runner; without a runner it is moto's (Stopped at once).

`set_processing_job` moves a job to the status a test (or the local SageMaker) decides and returns the
"SageMaker Processing Job State Change" event SageMaker would emit (moto emits none): its detail is the
job as DescribeProcessingJob shows it, timestamps in epoch milliseconds as training's events carry them.

moto members: `moto.sagemaker.responses.SageMakerResponse.create_processing_job` and
`.stop_processing_job` (wrapped: the response is where the request's ProcessingResources is still at
hand), and the attributes of `moto.sagemaker.models.FakeProcessingJob` that DescribeProcessingJob
reports (`gen_response_object` turns every attribute into a field), written through `sagemaker_backends`.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any, Protocol

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeProcessingJob, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from seam_local.moto_hooks.envelope import eventbridge_event
from seam_local.moto_hooks.patching import Hook, Patch

DETAIL_TYPE = "SageMaker Processing Job State Change"
WRITTEN = ("processing_job_status", "processing_end_time", "processing_inputs", "processing_output_config")


class ProcessingRunner(Protocol):
    """What runs processing jobs (seam_local.sagemaker.LocalSageMaker); both calls return at once."""

    def start_processing(self, job: FakeProcessingJob) -> None: ...

    def stop_processing(self, job: FakeProcessingJob) -> None: ...


def _create_processing_job(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("ProcessingJobName")
    if name in self.sagemaker_backend.processing_jobs:
        raise ResourceInUseException(f"Processing job {name} already exists")
    result = CREATE.original(self)
    job = self.sagemaker_backend.processing_jobs[name]
    job.processing_resources = self._get_param("ProcessingResources")
    job.environment = self._get_param("Environment") or {}
    runner = HOOK.target
    if runner is not None:
        job.processing_job_status, job.processing_end_time = "InProgress", None
        runner.start_processing(job)
    return result


def _stop_processing_job(self: SageMakerResponse) -> Any:
    name = self._get_param("ProcessingJobName")
    self.sagemaker_backend.describe_processing_job(name)  # ValidationException when there is no such job
    job = self.sagemaker_backend.processing_jobs[name]
    if job.processing_job_status != "InProgress":
        raise ValidationError(
            f"The request was rejected because the processing job is in status {job.processing_job_status}."
        )
    runner = HOOK.target
    if runner is None:
        return STOP.original(self)
    runner.stop_processing(job)
    return EmptyResult()


def check() -> None:
    HOOK.check()
    source = inspect.getsource(FakeProcessingJob.__init__)
    for attribute in WRITTEN:
        if attribute not in source:
            raise RuntimeError(f"moto FakeProcessingJob no longer sets {attribute}")


CREATE = Patch(SageMakerResponse, "create_processing_job", _create_processing_job, params=["self"])
STOP = Patch(SageMakerResponse, "stop_processing_job", _stop_processing_job, params=["self"])
HOOK: Hook[ProcessingRunner | None] = Hook([CREATE, STOP])


def set_processing_job(
    name: str,
    status: str,
    *,
    account: str,
    region: str,
    started: datetime | None = None,
    exit_message: str | None = None,
    failure_reason: str | None = None,
) -> dict[str, Any]:
    """Move a moto processing job to `status` (ProcessingStartTime `started`, ProcessingEndTime now for a
    terminal status) and return the state-change event SageMaker would emit."""
    job = sagemaker_backends[account][region].processing_jobs[name]
    now = datetime.now(UTC)
    job.processing_job_status = status
    job.last_modified_time = now
    if started is not None:
        job.processing_start_time = started
    job.processing_end_time = now if status in ("Completed", "Failed", "Stopped") else None
    if exit_message:
        job.exit_message = exit_message
    if failure_reason:
        job.failure_reason = failure_reason
    return processing_state_change_event(job, account, region)


def _millis(value: Any) -> Any:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else value


def processing_state_change_event(job: FakeProcessingJob, account: str, region: str) -> dict[str, Any]:
    """The EventBridge event: source aws.sagemaker, the job as DescribeProcessingJob shows it as detail."""
    detail = {key: _millis(value) for key, value in job.response_object.items()}
    detail["Tags"] = {t["Key"]: t["Value"] for t in job.tags or []}
    return eventbridge_event("aws.sagemaker", DETAIL_TYPE, account, region, [job.arn], detail)
