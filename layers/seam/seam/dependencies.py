"""Builds the adapters once per container from the settings. Handlers take `dependencies()`;
tests replace attributes (e.g. `deps.serving` with the in-memory fake of tests/workflow)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from seam.adapters.datasets import DatasetStore
from seam.adapters.dynamodb.locks import LockStore
from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.tokens import TokenStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.adapters.outcomes import OutcomePublisher
from seam.adapters.queues import Queue
from seam.adapters.sagemaker import ModelRegistry, TrainingJobs
from seam.adapters.workflow import Workflow
from seam.settings import Settings, get_settings

if TYPE_CHECKING:
    from seam.adapters.serving.base import ServingAdapter


@dataclass
class Dependencies:
    """Every adapter a handler may use. Building one only names its table, bucket, queue or ARN: the
    AWS clients are made at their first call (seam.adapters.aws.client)."""

    settings: Settings
    models: ModelStore
    runs: RunStore
    versions: VersionStore
    tokens: TokenStore
    locks: LockStore
    datasets: DatasetStore
    workflow: Workflow
    trigger_queue: Queue  # the trigger's own queue: a schedule tick's per-model retrains
    callback_queue: Queue  # the training callback's queue: the reconciler's checks of quiet trainings
    training: TrainingJobs
    registry: ModelRegistry
    outcomes: OutcomePublisher

    @classmethod
    def from_settings(cls, settings: Settings) -> Dependencies:
        return cls(
            settings=settings,
            models=ModelStore(settings.models_table),
            runs=RunStore(settings.runs_table),
            versions=VersionStore(settings.versions_table),
            tokens=TokenStore(settings.tokens_table),
            locks=LockStore(settings.locks_table),
            datasets=DatasetStore(settings.data_bucket),
            workflow=Workflow(settings.state_machine_arn),
            trigger_queue=Queue(settings.trigger_queue_url),
            callback_queue=Queue(settings.callback_queue_url),
            training=TrainingJobs(),
            registry=ModelRegistry(),
            outcomes=OutcomePublisher(settings.event_bus_name),
        )

    @cached_property
    def serving(self) -> ServingAdapter:
        # Imported here: only the deploy, check_rollout and rollback functions pay for the K8s client.
        from seam.adapters.serving.eks import EksServing

        return EksServing(allowed_clusters=self.settings.allowed_clusters)


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    return Dependencies.from_settings(get_settings())


def reset_dependencies() -> None:
    """Forget settings and adapters (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
    dependencies.cache_clear()
