"""Seam's domain errors: one place, one name each.

A Lambda that raises one of these fails its Task with the class name as the Step Functions error name
(`{"errorType": "DataValidationError"}` -> `States` sees `DataValidationError`), so the ASL retries
`TransientError` and catches everything else into Finalize with the message as the cause.
"""

from __future__ import annotations


class SeamError(Exception):
    """Base for every error Seam raises on purpose."""


class TransientError(SeamError):
    """A dependency was throttled or unavailable; retrying later may succeed."""


class ConfigError(SeamError):
    """A model config, setting or environment variable is missing or invalid."""


class ConfigRefusedError(ConfigError):
    """A model config that would fail its runs after training (seam.domain.onboarding's checks): `seam
    models put` refuses it; a retrain request of a config stored some other way ends FAILED in the
    trigger, before anything starts or is paid. The message names each problem."""


class ModelNotFoundError(SeamError):
    """An event or request names a model that is not onboarded."""


class BadEventError(SeamError):
    """An event cannot be parsed or does not map to a run; it never starts one."""


class DataValidationError(SeamError):
    """The dataset broke a validation rule; the message names the rule."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class ForeignDatasetError(DataValidationError):
    """The run names data outside `datasets/<model>/` of Seam's bucket (e.g. a queued request naming
    another model's data); nothing of it is read."""


class DatasetChangedError(DataValidationError):
    """The object changed between the check and the copy (its ETag differs): nothing unvalidated is
    trained on."""


class GoldenDatasetError(DataValidationError):
    """The model's golden set (evaluation.golden_dataset) is missing or breaks the validation rules."""


class TrainingError(SeamError):
    """A training job could not be started or ended in Failed / Stopped."""


class TrainingCapacityError(TrainingError):
    """SageMaker's ResourceLimitExceeded: the account's training-instance quota is in use. The workflow
    waits and retries with long backoff (docs/SCALE.md) instead of failing the run."""


class BudgetExceededError(SeamError):
    """Launching the run's training could exceed its model's (or team's) monthly budget: it is not
    launched, and the run ends SKIPPED with reason `budget` (seam.domain.finalization)."""


class ForeignTrainingJobError(TrainingError):
    """A training job holds the run's name (or settles its token) but is not the job the run would
    have created: another role, image, output path, stage or run. The run fails; nothing it trained
    on is registered or deployed, and the job itself is left alone (it is not Seam's to stop)."""


class EvaluationError(SeamError):
    """The challenger cannot be compared (e.g. its metric is missing); never promotes."""


class PredictionsError(EvaluationError):
    """A per-row predictions file cannot be read or holds a bad row; the message names the rule."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class HoldoutMismatchError(PredictionsError):
    """Per-row predictions do not cover exactly the holdout's rows (count, ids or labels differ)."""


class UnknownMetricError(EvaluationError):
    """A metric name Seam cannot compute from per-row predictions."""


class MetricInputError(EvaluationError):
    """The rows cannot give this metric (e.g. log loss of a score outside [0, 1])."""


class ChampionUnscorableError(EvaluationError):
    """The champion's artifact could not be scored on the holdout (unreadable, missing, or its image
    failed on it): the run ends instead of promoting blindly."""


class ChampionImageChangedError(EvaluationError):
    """The champion was trained by another image digest than the challenger's: scoring it needs its own
    image (a SageMaker Processing job), which Seam does not start yet."""


class SingleClassError(MetricInputError):
    """The holdout's labels are all one class: AUC (and a paired interval of it) is undefined."""


class RegistryError(SeamError):
    """The model registry rejected the version."""


class OperationRefusedError(SeamError):
    """What a person asked (approve, reject, roll back, retry) would do the wrong thing; nothing changed."""


class DeployRefusedError(SeamError):
    """A deploy run may not deploy what it was asked to (the version does not exist, already serves,
    was rejected, or the champion moved since it was evaluated); the run ends REFUSED, nothing changed."""


class ServingError(SeamError):
    """A serving target is unreachable, forbidden, missing or not allowed; not retried."""


class UnexpectedImageError(ServingError):
    """Deploy was asked to serve an image that is not the model config's (another digest): only the
    image that trained under the config serves."""


class ServingTargetChangedError(ServingError):
    """The Deployment no longer carries this run's release: another writer (a GitOps controller, a
    person, another tool) replaced it. The run is not DEPLOYED, and nothing is rolled back over the
    other writer's change."""


class ServingConflictError(TransientError):
    """The Deployment changed underneath a patch (HTTP 409); retried."""


class StaleUpdateError(SeamError):
    """A conditional write lost a race (a terminal status or champion moved on)."""
