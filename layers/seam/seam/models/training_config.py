"""The part of a model config that trains: how (`TrainingSpec`), how often, and what it may spend
(`Budget`). LaunchTraining and ScoreChampion read this (`ModelStore.training`, `TrainingConfig`) and
not a whole ModelConfig, whose classes and build cost them about 5 ms of a cold start
(bench/cold_start.py). The config was checked whole when it was put or, stored some other way, by the
trigger before the run started (seam.domain.starting.refused_by_config)."""

from pydantic import Field, field_validator

from seam.models.model_identity import ModelIdentity
from seam.models.training_spec import IMAGE_BY_DIGEST_PATTERN, TrainingSpec, _Strict

__all__ = ["IMAGE_BY_DIGEST_PATTERN", "Budget", "TrainingConfig", "TrainingSpec", "_Strict"]


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
