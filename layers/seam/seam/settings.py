"""Environment settings, read and checked once per container (at first use, not at import).

A NamedTuple read by hand, not a pydantic model: every handler reads these at its first invocation,
and the model (twenty aliased fields, built at import) cost each cold start about 2 ms, a tenth of
what Seam's own code may spend (bench/cold_start.py). The checks are the model's: required variables,
the stage's pattern, integer bounds; a mistake names every variable that is wrong."""

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from seam.errors import ConfigError
from seam.models.run import STAGE_PATTERN


class Settings(NamedTuple):
    stage: str
    models_table: str
    runs_table: str
    versions_table: str
    tokens_table: str
    locks_table: str
    data_bucket: str
    state_machine_arn: str
    event_bus_name: str
    sagemaker_role_arn: str
    # The stack's key for training volumes and outputs (an ARN: the IAM conditions compare ARNs).
    training_key_arn: str
    allowed_clusters_csv: str
    model_package_group_prefix: str
    training_stale_after_seconds: int
    rollout_max_checks: int
    rollout_wait_seconds: int
    trigger_queue_url: str
    callback_queue_url: str
    schedule_spread_seconds: int

    @property
    def allowed_clusters(self) -> frozenset[str]:
        # The template's default is "none": no cluster may be deployed to until one is named.
        names = {c.strip() for c in self.allowed_clusters_csv.split(",")}
        return frozenset(names - {"", "none"})

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "Settings":
        """The settings in `env` (SEAM_* variables); ConfigError names every variable missing or wrong."""
        read = _Reader(env)
        settings = cls(
            stage=read.text("SEAM_STAGE", "dev", pattern=STAGE_PATTERN),
            models_table=read.text("SEAM_MODELS_TABLE"),
            runs_table=read.text("SEAM_RUNS_TABLE"),
            versions_table=read.text("SEAM_VERSIONS_TABLE"),
            tokens_table=read.text("SEAM_TOKENS_TABLE"),
            locks_table=read.text("SEAM_LOCKS_TABLE"),
            data_bucket=read.text("SEAM_DATA_BUCKET"),
            state_machine_arn=read.text("SEAM_STATE_MACHINE_ARN"),
            event_bus_name=read.text("SEAM_EVENT_BUS_NAME", "default"),
            sagemaker_role_arn=read.text("SEAM_SAGEMAKER_ROLE_ARN", ""),
            training_key_arn=read.text("SEAM_TRAINING_KEY_ARN", ""),
            allowed_clusters_csv=read.text("SEAM_ALLOWED_CLUSTERS", ""),
            model_package_group_prefix=read.text("SEAM_MODEL_PACKAGE_GROUP_PREFIX", "seam-"),
            training_stale_after_seconds=read.integer("SEAM_TRAINING_STALE_AFTER_SECONDS", 1800, low=60),
            rollout_max_checks=read.integer("SEAM_ROLLOUT_MAX_CHECKS", 40, low=1),
            rollout_wait_seconds=read.integer("SEAM_ROLLOUT_WAIT_SECONDS", 15, low=0, high=3600),
            trigger_queue_url=read.text("SEAM_TRIGGER_QUEUE_URL", ""),
            callback_queue_url=read.text("SEAM_CALLBACK_QUEUE_URL", ""),
            schedule_spread_seconds=read.integer("SEAM_SCHEDULE_SPREAD_SECONDS", 600, low=0, high=840),
        )
        if read.problems:
            raise ConfigError(f"invalid or missing environment settings: {', '.join(read.problems)}")
        return settings


class _Reader:
    """Reads variables, collecting what is wrong with each instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env, self.problems = env, []

    def text(self, name: str, default: str | None = None, pattern: str | None = None) -> str:
        value = self.env.get(name, default)
        if value is None:
            self.problems.append(f"{name} (missing)")
            return ""
        if pattern and not re.match(pattern, value):
            self.problems.append(f"{name} ({value!r} does not match {pattern})")
        return value

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        raw = self.env.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            self.problems.append(f"{name} ({raw!r} is not an integer)")
            return default
        if value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            self.problems.append(f"{name} ({value} is not {bounds})")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once; a missing or wrong variable names itself in the error."""
    return Settings.from_environ(os.environ)
