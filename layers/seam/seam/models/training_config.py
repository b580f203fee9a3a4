"""The part of a model config that trains: how (`TrainingSpec`), how often, and what it may spend
(`Budget`). LaunchTraining and ScoreChampion read this (`ModelStore.training`, `TrainingConfig`) and
not a whole ModelConfig, whose classes and build cost them about 5 ms of a cold start
(bench/cold_start.py). The config was validated whole when it was put and at the run's Validate."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seam.models.model_identity import ModelIdentity

# An ECR image pinned by digest: the image that trains is the image that serves (same digest).
# ASCII classes, not \w and \d: ECR names are ASCII, and pydantic-core's Unicode \w costs about 3 ms
# of every cold start to compile.
IMAGE_BY_DIGEST_PATTERN = r"^[A-Za-z0-9_.-]+(:[0-9]+)?(/[A-Za-z0-9_.-]+)+@sha256:[0-9a-f]{64}$"


class _Strict(BaseModel):
    # Built at first use, not at import (seam.models.run._Record says why): of the functions that load
    # configs, the trigger reads one only for a schedule tick or an alarm, never for a data drop.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TrainingSpec(_Strict):
    image: str = Field(pattern=IMAGE_BY_DIGEST_PATTERN, description="ECR image URI pinned by @sha256 digest")
    instance_type: str = Field(default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=60, le=28 * 24 * 3600)
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    # SageMaker warm pools keep the instance for the next job: what makes 15-minute retrains fast.
    warm_pool_keep_alive_seconds: int = Field(default=0, ge=0, le=3600)
    use_spot: bool = False
    max_wait_seconds: int | None = Field(default=None, ge=60)
    checkpoint_s3_uri: str | None = Field(default=None, pattern=r"^s3://")
    metric_definitions: dict[str, str] = Field(
        default_factory=dict, description="metric name -> regex with one group over the training log"
    )
    # The training container gets no network (EnableNetworkIsolation): it reads its channels and writes
    # its model, and can send nothing anywhere. Turning it off needs a reason, kept with the config, and
    # a stack whose TrainingNetworkAccess parameter allows it (IAM refuses the job otherwise).
    network_isolation: bool = True
    network_access_reason: str | None = Field(default=None, min_length=10, max_length=500)

    @model_validator(mode="after")
    def _spot_rules(self) -> Self:
        # Warm pools cannot be combined with managed spot training (SageMaker rejects the job).
        if self.use_spot and self.warm_pool_keep_alive_seconds:
            raise ValueError("use_spot and warm_pool_keep_alive_seconds cannot be combined")
        if self.use_spot and (self.max_wait_seconds or 0) < self.max_runtime_seconds:
            raise ValueError("use_spot needs max_wait_seconds >= max_runtime_seconds")
        if not self.network_isolation and not self.network_access_reason:
            raise ValueError(
                "network_isolation: false needs network_access_reason (why training needs the network)"
            )
        if self.network_isolation and self.network_access_reason:
            raise ValueError("network_access_reason is only for network_isolation: false")
        return self

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameter_limits(cls, value: dict[str, str]) -> dict[str, str]:
        # CreateTrainingJob: at most 100 hyperparameters, keys <= 256 and values <= 2500 chars.
        if len(value) > 100:
            raise ValueError("at most 100 hyperparameters")
        for key, item in value.items():
            if len(key) > 256 or len(item) > 2500:
                raise ValueError(f"hyperparameter {key[:40]!r} is too long")
        return value


class Budget(_Strict):
    """What a model (and its team) may spend on retraining per calendar month (UTC), in USD. Before each
    launch Seam adds the run's worst case to the month's spend; a run that would exceed a budget is not
    launched (it ends SKIPPED, reason `budget`). seam.domain.budgets."""

    # strict: a number, not a string or a boolean; finite and positive.
    monthly_usd: float = Field(gt=0, allow_inf_nan=False, strict=True, description="this model's budget")
    team_monthly_usd: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        strict=True,
        description="its team's budget: this model's runs are checked against the month's spend of "
        "every model of its team",
    )


class TrainingConfig(ModelIdentity):
    """A model's identity (ModelIdentity) and how it trains: ModelConfig's base, read on its own from a
    whole config (the other fields are ignored here)."""

    training: TrainingSpec
    retrain_every_minutes: int | None = Field(default=None, ge=15, le=7 * 24 * 60)
    budget: Budget | None = None

    @field_validator("retrain_every_minutes")
    @classmethod
    def _multiple_of_tick(cls, value: int | None) -> int | None:
        # The scheduler ticks every 15 minutes; a cadence is a whole number of ticks.
        if value is not None and value % 15:
            raise ValueError("retrain_every_minutes must be a multiple of 15")
        return value
