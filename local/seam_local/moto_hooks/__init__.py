"""Where moto is not yet AWS enough for Seam, a hook makes it so: one module per hook, each saying which
moto member it touches and why no public extension point of moto serves. Every hook is installed the
same way (`patching.Hook`), only for the duration of a `with` block:

- `install_lambda_runtime`: Lambda tasks run Seam's handlers in-process (`lambda_runtime`), and
  SendTaskFailure keeps its cause (`task_failure`).
- `install_training_runner`: training jobs run (InProgress, handed to a runner) instead of completing
  at once, names are unique, StopTrainingJob exists (`training_runner`); processing jobs (a champion
  scored by its own image) likewise (`processing_runner`); `install_training_stop`: StopTrainingJob
  alone, and processing jobs that keep their request, for tests without a runner.
- `install_event_sources`: events reach EventBridge targets in the shape and envelope AWS uses
  (`event_input`, `s3_events`, `alarm_events`, `model_package_events`: UpdateModelPackage emits
  SageMaker's approval change).
- `install_transaction_backups`: a TransactWriteItems backs each table up once (`transactions`).
- `install_local_images`: DescribeImages finds an image the local runtime can run (`ecr_images`).

Three modules set what no API action can: a training job's status and metrics (`training_status`), a
processing job's status (`processing_runner.set_processing_job`) and an EKS cluster's endpoint
(`eks_clusters`). moto is pinned (PINNED_MOTO_VERSION); `check_moto_compatibility`
runs every module's check, and tests/workflow/test_moto_hooks.py fails loudly when moto changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from seam_local.images import ImageResolver
from seam_local.moto_hooks import (
    alarm_events,
    ecr_images,
    eks_clusters,
    event_input,
    lambda_runtime,
    model_package_events,
    processing_runner,
    s3_events,
    task_failure,
    training_runner,
    training_status,
    transactions,
)
from seam_local.moto_hooks.alarm_events import alarm_state_change
from seam_local.moto_hooks.eks_clusters import set_cluster_endpoint
from seam_local.moto_hooks.lambda_runtime import Invocation, LambdaContext, LambdaRuntime
from seam_local.moto_hooks.model_package_events import package_event
from seam_local.moto_hooks.patching import PINNED_MOTO_VERSION, check_moto_version
from seam_local.moto_hooks.processing_runner import processing_state_change_event, set_processing_job
from seam_local.moto_hooks.training_runner import TrainingRunner
from seam_local.moto_hooks.training_status import set_training_job, training_state_change_event

MODULES = (
    lambda_runtime,
    task_failure,
    training_runner,
    training_status,
    processing_runner,
    event_input,
    s3_events,
    alarm_events,
    model_package_events,
    eks_clusters,
    transactions,
    ecr_images,
)

__all__ = [
    "MODULES",
    "PINNED_MOTO_VERSION",
    "Invocation",
    "LambdaContext",
    "LambdaRuntime",
    "TrainingRunner",
    "alarm_state_change",
    "check_moto_compatibility",
    "install_event_sources",
    "install_lambda_runtime",
    "install_local_images",
    "install_training_runner",
    "install_training_stop",
    "install_transaction_backups",
    "package_event",
    "processing_state_change_event",
    "set_cluster_endpoint",
    "set_processing_job",
    "set_training_job",
    "training_state_change_event",
]


def check_moto_compatibility() -> None:
    """Raise with a clear message when moto is not what the hooks were written against."""
    check_moto_version()
    for module in MODULES:
        module.check()


@contextmanager
def install_lambda_runtime(runtime: LambdaRuntime) -> Iterator[LambdaRuntime]:
    """Route moto's Lambda invocations to `runtime` for the duration of the block."""
    with lambda_runtime.HOOK.installed(runtime), task_failure.HOOK.installed(None):
        yield runtime


@contextmanager
def install_training_runner(runner: TrainingRunner) -> Iterator[TrainingRunner]:
    """CreateTrainingJob leaves the job InProgress and calls `runner.start(job)`; StopTrainingJob calls
    `runner.stop(job)`; CreateProcessingJob and StopProcessingJob likewise (`start_processing`,
    `stop_processing`)."""
    with (
        training_runner.HOOK.installed(runner),
        training_runner.STOP_HOOK.installed(None),
        processing_runner.HOOK.installed(runner),
    ):
        yield runner


@contextmanager
def install_training_stop() -> Iterator[None]:
    """StopTrainingJob, which moto lacks, without a runner: a running job is Stopped at once; one that
    is not InProgress is refused (ValidationException), as SageMaker does. Processing jobs keep their
    request's ProcessingResources and refuse a duplicate name (`processing_runner`)."""
    with training_runner.STOP_HOOK.installed(None), processing_runner.HOOK.installed(None):
        yield


@contextmanager
def install_event_sources() -> Iterator[None]:
    """While active, events reach EventBridge targets with the shape and envelope AWS uses."""
    with (
        event_input.HOOK.installed(None),
        s3_events.HOOK.installed(None),
        alarm_events.HOOK.installed(None),
        model_package_events.HOOK.installed(None),
    ):
        yield


@contextmanager
def install_transaction_backups() -> Iterator[None]:
    """Back each table up once per TransactWriteItems, not once per item."""
    with transactions.HOOK.installed(None):
        yield


@contextmanager
def install_local_images(resolver: ImageResolver) -> Iterator[ImageResolver]:
    """ECR's DescribeImages finds an image whose repository `resolver` runs (a local image folder)."""
    with ecr_images.HOOK.installed(resolver):
        yield resolver
