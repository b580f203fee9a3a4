"""Environment settings, validated once per container (at first use, not at import)."""

import os
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError

from seam.errors import ConfigError
from seam.models.run import STAGE_PATTERN


class Settings(BaseModel):
    stage: str = Field(default="dev", pattern=STAGE_PATTERN, alias="SEAM_STAGE")
    models_table: str = Field(alias="SEAM_MODELS_TABLE")
    runs_table: str = Field(alias="SEAM_RUNS_TABLE")
    versions_table: str = Field(alias="SEAM_VERSIONS_TABLE")
    tokens_table: str = Field(alias="SEAM_TOKENS_TABLE")
    locks_table: str = Field(alias="SEAM_LOCKS_TABLE")
    data_bucket: str = Field(alias="SEAM_DATA_BUCKET")
    state_machine_arn: str = Field(alias="SEAM_STATE_MACHINE_ARN")
    event_bus_name: str = Field(default="default", alias="SEAM_EVENT_BUS_NAME")
    sagemaker_role_arn: str = Field(default="", alias="SEAM_SAGEMAKER_ROLE_ARN")
    # The stack's key for training volumes and outputs (an ARN: the IAM conditions compare ARNs).
    training_key_arn: str = Field(default="", alias="SEAM_TRAINING_KEY_ARN")
    allowed_clusters_csv: str = Field(default="", alias="SEAM_ALLOWED_CLUSTERS")
    model_package_group_prefix: str = Field(default="seam-", alias="SEAM_MODEL_PACKAGE_GROUP_PREFIX")
    training_stale_after_seconds: int = Field(default=1800, ge=60, alias="SEAM_TRAINING_STALE_AFTER_SECONDS")
    rollout_max_checks: int = Field(default=40, ge=1, alias="SEAM_ROLLOUT_MAX_CHECKS")
    rollout_wait_seconds: int = Field(default=15, ge=0, le=3600, alias="SEAM_ROLLOUT_WAIT_SECONDS")
    trigger_queue_url: str = Field(default="", alias="SEAM_TRIGGER_QUEUE_URL")
    callback_queue_url: str = Field(default="", alias="SEAM_CALLBACK_QUEUE_URL")
    schedule_spread_seconds: int = Field(default=600, ge=0, le=840, alias="SEAM_SCHEDULE_SPREAD_SECONDS")

    @property
    def allowed_clusters(self) -> frozenset[str]:
        # The template's default is "none": no cluster may be deployed to until one is named.
        names = {c.strip() for c in self.allowed_clusters_csv.split(",")}
        return frozenset(names - {"", "none"})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once; a missing variable names itself in the error."""
    env = {k: v for k, v in os.environ.items() if k.startswith("SEAM_")}
    try:
        return Settings.model_validate(env)
    except ValidationError as exc:
        missing = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise ConfigError(f"invalid or missing environment settings: {missing}") from exc
