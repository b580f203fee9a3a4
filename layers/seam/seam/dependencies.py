"""Builds the adapters once per container from the settings. Handlers take `dependencies()`;
tests replace attributes (e.g. `deps.serving = InMemoryServing()`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from seam.adapters.datasets import DatasetStore
from seam.adapters.dynamodb import LockStore, ModelStore, RunStore, TokenStore, VersionStore
from seam.adapters.outcomes import OutcomePublisher
from seam.adapters.sagemaker import ModelRegistry, TrainingJobs
from seam.adapters.trigger_queue import TriggerQueue
from seam.adapters.workflow import Workflow
from seam.settings import Settings, get_settings

if TYPE_CHECKING:
    from seam.adapters.serving.base import ServingAdapter


@dataclass
class Dependencies:
    settings: Settings

    @cached_property
    def models(self) -> ModelStore:
        return ModelStore(self.settings.models_table)

    @cached_property
    def runs(self) -> RunStore:
        return RunStore(self.settings.runs_table)

    @cached_property
    def versions(self) -> VersionStore:
        return VersionStore(self.settings.versions_table)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.settings.tokens_table)

    @cached_property
    def locks(self) -> LockStore:
        return LockStore(self.settings.locks_table)

    @cached_property
    def datasets(self) -> DatasetStore:
        return DatasetStore(self.settings.data_bucket)

    @cached_property
    def workflow(self) -> Workflow:
        return Workflow(self.settings.state_machine_arn)

    @cached_property
    def trigger_queue(self) -> TriggerQueue:
        return TriggerQueue(self.settings.trigger_queue_url)

    @cached_property
    def training(self) -> TrainingJobs:
        return TrainingJobs()

    @cached_property
    def registry(self) -> ModelRegistry:
        return ModelRegistry()

    @cached_property
    def outcomes(self) -> OutcomePublisher:
        return OutcomePublisher(self.settings.event_bus_name)

    @cached_property
    def serving(self) -> ServingAdapter:
        # Imported here: only the deploy, check_rollout and rollback functions pay for the K8s client.
        from seam.adapters.serving.eks import EksServing

        return EksServing(allowed_clusters=self.settings.allowed_clusters)


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    return Dependencies(get_settings())


def reset_dependencies() -> None:
    """Forget settings and adapters (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
    dependencies.cache_clear()
