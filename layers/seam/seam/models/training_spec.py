"""How a model trains (`TrainingSpec`): the part of a model config every read of it shares. LaunchTraining
and ScoreChampion read it with the model's identity, cadence and budget (seam.models.training_config),
Validate with the model's data rules and gate (seam.models.validation_config)."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
