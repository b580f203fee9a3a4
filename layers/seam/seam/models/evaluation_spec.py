"""A model config's gate (`evaluation`). Its own module because Evaluate reads nothing else of a config:
it validates this, not a whole ModelConfig, whose classes and build cost about 6 ms of a cold start
(ModelStore.evaluation). The config was checked whole when it was put or, stored some other way, by
the trigger before the run started (seam.domain.starting.refused_by_config)."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A key in Seam's data bucket: no leading '/', no '..' segment, no empty segment, not a folder.
S3_KEY_PATTERN = r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$"
DEFAULT_HOLDOUT_MAX_ROWS = 20_000


class EvaluationSpec(BaseModel):
    """The gate. With `holdout_fraction` set, each run holds out that share of the validated rows (at most
    `holdout_max_rows`, chosen from the run id), plus every row of `golden_dataset` when given, and the
    challenger and the champion are both scored on them (issue 12, seam.domain.paired_evaluation):
    `min_improvement` then applies to the lower bound of the paired interval when `confidence` is set,
    to the point difference otherwise. Without it, the gate compares the training job's logged metric with
    the champion's stored one, as before."""

    # Built at first use, like every Seam record (seam.models.run._Record says why).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    metric: str = Field(min_length=1, max_length=255)
    direction: Literal["maximize", "minimize"] = "maximize"
    min_improvement: float = Field(default=0.0, ge=0.0)
    floor: float | None = Field(default=None, description="absolute bound the challenger must reach")
    confidence: float | None = Field(default=None, gt=0.5, lt=1.0)
    holdout_fraction: float | None = Field(default=None, gt=0.0, lt=1.0)
    holdout_max_rows: int = Field(default=DEFAULT_HOLDOUT_MAX_ROWS, ge=1, le=1_000_000)
    golden_dataset: str | None = Field(default=None, max_length=1024, pattern=S3_KEY_PATTERN)

    @model_validator(mode="after")
    def _paired_needs_a_holdout(self) -> Self:
        if self.holdout_fraction is None and (self.confidence is not None or self.golden_dataset):
            named = "confidence" if self.confidence is not None else "golden_dataset"
            raise ValueError(f"{named} needs holdout_fraction: without a holdout nothing is paired")
        if self.golden_dataset and (".." in self.golden_dataset.split("/")):
            raise ValueError("golden_dataset must not contain a '..' segment")
        return self
