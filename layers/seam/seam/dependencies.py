"""Builds the adapters once per container from the settings. Handlers take `dependencies()`;
tests replace attributes (e.g. `deps.serving` with the in-memory fake of tests/workflow).

Each adapter is built at its first use, and its module imported there (the imports inside the
properties below): a handler loads only the stores and clients it uses, not every other handler's.
The adapters its invocation uses, its `import app` has already loaded (the domain module it calls
imports the adapters it is handed, or app.py names them), so their import is part of the measured
cold start: tests/workflow/test_first_invocation_models.py checks it, as bench/cold_start.py assumes.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from seam.settings import Settings, get_settings

if TYPE_CHECKING:
    from seam.adapters.datasets import DatasetStore
    from seam.adapters.dynamodb.locks import LockStore
    from seam.adapters.dynamodb.models import ModelStore
    from seam.adapters.dynamodb.runs import RunStore
    from seam.adapters.dynamodb.serving_targets import ServingTargetStore
    from seam.adapters.dynamodb.tokens import TokenStore
    from seam.adapters.dynamodb.versions import VersionStore
    from seam.adapters.images import ImageRegistry
    from seam.adapters.outcomes import OutcomePublisher
    from seam.adapters.queues import Queue
    from seam.adapters.sagemaker import ModelRegistry, TrainingJobs
    from seam.adapters.serving.base import ServingAdapter
    from seam.adapters.workflow import Workflow


class Dependencies:
    """Every adapter a handler may use. Building one only names its table, bucket, queue or ARN: the
    AWS clients are made at their first call (seam.adapters.aws.client)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def models(self) -> ModelStore:
        from seam.adapters.dynamodb.models import ModelStore

        return ModelStore(self.settings.models_table)

    @cached_property
    def serving_targets(self) -> ServingTargetStore:
        from seam.adapters.dynamodb.serving_targets import ServingTargetStore

        return ServingTargetStore(self.settings.models_table)

    @cached_property
    def runs(self) -> RunStore:
        from seam.adapters.dynamodb.runs import RunStore

        return RunStore(self.settings.runs_table)

    @cached_property
    def versions(self) -> VersionStore:
        from seam.adapters.dynamodb.versions import VersionStore

        return VersionStore(self.settings.versions_table)

    @cached_property
    def tokens(self) -> TokenStore:
        from seam.adapters.dynamodb.tokens import TokenStore

        return TokenStore(self.settings.tokens_table)

    @cached_property
    def locks(self) -> LockStore:
        from seam.adapters.dynamodb.locks import LockStore

        return LockStore(self.settings.locks_table, self.settings.runs_table)

    @cached_property
    def datasets(self) -> DatasetStore:
        from seam.adapters.datasets import DatasetStore

        return DatasetStore(self.settings.data_bucket)

    @cached_property
    def workflow(self) -> Workflow:
        from seam.adapters.workflow import Workflow

        return Workflow(self.settings.state_machine_arn)

    @cached_property
    def trigger_queue(self) -> Queue:
        """The trigger's own queue: a schedule tick's per-model retrains."""
        from seam.adapters.queues import Queue

        return Queue(self.settings.trigger_queue_url)

    @cached_property
    def callback_queue(self) -> Queue:
        """The training callback's queue: the reconciler's checks of quiet trainings."""
        from seam.adapters.queues import Queue

        return Queue(self.settings.callback_queue_url)

    @cached_property
    def training(self) -> TrainingJobs:
        from seam.adapters.sagemaker import TrainingJobs

        return TrainingJobs()

    @cached_property
    def registry(self) -> ModelRegistry:
        from seam.adapters.sagemaker import ModelRegistry

        return ModelRegistry()

    @cached_property
    def outcomes(self) -> OutcomePublisher:
        from seam.adapters.outcomes import OutcomePublisher

        return OutcomePublisher(self.settings.event_bus_name)

    @cached_property
    def images(self) -> ImageRegistry:
        from seam.adapters.images import ImageRegistry  # `seam models put` only

        return ImageRegistry()

    @cached_property
    def serving(self) -> ServingAdapter:
        from seam.adapters.serving.eks import EksServing  # and lightkube: only the serving functions

        return EksServing(allowed_clusters=self.settings.allowed_clusters)


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    return Dependencies(get_settings())


def reset_dependencies() -> None:
    """Forget settings and adapters (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
    dependencies.cache_clear()
