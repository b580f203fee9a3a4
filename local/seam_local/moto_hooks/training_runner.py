"""Training jobs run instead of completing at once. moto marks a training job Completed the moment it
is created. While installed, CreateTrainingJob keeps the request's MetricDefinitions (moto overwrites
them), refuses a job name that exists (ResourceInUse, as SageMaker does; moto would replace the job),
leaves the job InProgress and hands it to a runner (seam_local.sagemaker.LocalSageMaker).
StopTrainingJob, which moto lacks, is its own hook (`STOP_HOOK`, also installed without a runner, as in
the unit tests): a job that is not InProgress is refused with SageMaker's ValidationException; a running
job goes to the runner, or without one is Stopped at once.

moto members: `moto.sagemaker.models.SageMakerModelBackend.create_training_job` (wrapped) and
`moto.sagemaker.responses.SageMakerResponse.stop_training_job` (added: moto handles an API action only
through a method of that name on the service's response class). moto's state manager
(`moto.moto_api.state_manager`) moves other resources through their statuses, not training jobs.
"""

from __future__ import annotations

import copy
import inspect
import json
from datetime import UTC, datetime
from typing import Any, Protocol

from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from seam_local.moto_hooks.patching import Hook, Patch


class TrainingRunner(Protocol):
    """What runs training jobs (seam_local.sagemaker.LocalSageMaker); both calls return at once (the
    runner works on its own threads)."""

    def start(self, job: FakeTrainingJob) -> None: ...

    def stop(self, job: FakeTrainingJob) -> None: ...


def _create_training_job(
    self: SageMakerModelBackend, training_job_name: str, **kwargs: Any
) -> FakeTrainingJob:
    if training_job_name in self.training_jobs:
        raise ResourceInUseException(f"Training job {training_job_name} already exists")
    requested = copy.deepcopy(kwargs["algorithm_specification"].get("MetricDefinitions") or [])
    job: FakeTrainingJob = CREATE.original(self, training_job_name, **kwargs)
    runner = HOOK.target
    if runner is None:
        return job
    job.algorithm_specification["MetricDefinitions"] = requested
    job.training_job_status, job.secondary_status = "InProgress", "Starting"
    job.final_metric_data_list = []
    job.training_end_time = None
    job.secondary_status_transitions = [
        {"Status": "Starting", "StartTime": job.creation_time, "StatusMessage": "Starting the training job"}
    ]
    runner.start(job)
    return job


def _stop_training_job(self: SageMakerResponse) -> EmptyResult:
    name = json.loads(self.body or "{}").get("TrainingJobName")
    self.sagemaker_backend.describe_training_job(name)  # ValidationException when there is no such job
    job = self.sagemaker_backend.training_jobs[name]
    if job.training_job_status != "InProgress":
        # SageMaker's answer for a job that ended or is stopping.
        raise ValidationError(
            f"The request was rejected because the training job is in status {job.training_job_status}."
        )
    runner = HOOK.target
    if runner is not None:
        runner.stop(job)
    else:  # nothing runs it: it stops at once
        job.training_job_status, job.secondary_status = "Stopped", "Stopped"
        job.training_end_time = datetime.now(UTC)
    return EmptyResult()


def _create_takes_the_request_by_name() -> None:
    params = list(inspect.signature(CREATE.original).parameters)
    if params[:2] != ["self", "training_job_name"] or "algorithm_specification" not in params:
        raise RuntimeError(f"moto SageMakerModelBackend.create_training_job signature changed: {params}")


CREATE = Patch(SageMakerModelBackend, "create_training_job", _create_training_job)
STOP = Patch(SageMakerResponse, "stop_training_job", _stop_training_job, adds=True)
HOOK: Hook[TrainingRunner | None] = Hook([CREATE], check=_create_takes_the_request_by_name)
STOP_HOOK: Hook[None] = Hook([STOP])


def check() -> None:
    HOOK.check()
    STOP_HOOK.check()
