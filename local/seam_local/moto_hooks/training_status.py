"""Training job status: a test (or the local SageMaker) moves a moto training job to the status,
metrics and failure reason it decides, and gets the "SageMaker Training Job State Change" event
SageMaker would emit (moto emits none).

moto members: the attributes of `moto.sagemaker.models.FakeTrainingJob` that DescribeTrainingJob
reports, written through `sagemaker_backends`; no API action sets a job's status or metrics.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.models import FakeTrainingJob, sagemaker_backends

from seam_local.moto_hooks.envelope import eventbridge_event

WRITTEN = ("training_job_status", "secondary_status", "final_metric_data_list", "model_artifacts")


def check() -> None:
    for attribute in WRITTEN:
        if attribute not in inspect.getsource(FakeTrainingJob.__init__):
            raise RuntimeError(f"moto FakeTrainingJob no longer sets {attribute}")


def set_training_job(
    name: str,
    status: str,
    *,
    account: str,
    region: str,
    secondary_status: str | None = None,
    metrics: dict[str, float] | None = None,
    failure_reason: str | None = None,
    billable_seconds: int | None = None,
) -> dict[str, Any]:
    """Move a moto training job to `status` and return the state-change event SageMaker would emit."""
    job = sagemaker_backends[account][region].training_jobs[name]
    now = datetime.now(UTC)
    job.training_job_status = status
    job.secondary_status = secondary_status or {"InProgress": "Training", "Stopping": "Stopping"}.get(
        status, status
    )
    job.last_modified_time = now
    job.final_metric_data_list = [
        {"MetricName": k, "Value": float(v), "Timestamp": now} for k, v in (metrics or {}).items()
    ]
    if failure_reason:
        job.failure_reason = failure_reason
    if billable_seconds is not None:
        job.billable_time_in_seconds = billable_seconds
        job.training_time_in_seconds = billable_seconds
    return training_state_change_event(job, account, region)


def training_state_change_event(job: FakeTrainingJob, account: str, region: str) -> dict[str, Any]:
    """The EventBridge event's shape (see events/sagemaker/): the job description without metrics."""
    detail = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TrainingJobStatus": job.training_job_status,
        "SecondaryStatus": job.secondary_status,
        "HyperParameters": job.hyper_parameters or {},
        "AlgorithmSpecification": {
            k: v for k, v in job.algorithm_specification.items() if k != "MetricDefinitions"
        },
        "RoleArn": job.role_arn,
        "InputDataConfig": job.input_data_config,
        "OutputDataConfig": job.output_data_config,
        "ResourceConfig": job.resource_config,
        "StoppingCondition": job.stopping_condition,
        "CreationTime": int(job.creation_time.timestamp() * 1000)
        if hasattr(job.creation_time, "timestamp")
        else 0,
        "LastModifiedTime": int(datetime.now(UTC).timestamp() * 1000),
        "Tags": {t["Key"]: t["Value"] for t in job.tags or []},
    }
    if getattr(job, "failure_reason", None):
        detail["FailureReason"] = job.failure_reason
    return eventbridge_event(
        "aws.sagemaker", "SageMaker Training Job State Change", account, region, [job.arn], detail
    )
