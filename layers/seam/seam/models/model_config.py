"""The model config: one validated record per onboarded model (see DESIGN.md "Model config").

Adding or changing a model is a write of this record (`seam models put FILE.yaml`); no redeploy.
"""

from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from seam.models.evaluation_spec import EvaluationSpec
from seam.models.training_config import TrainingConfig, _Strict


class ColumnRule(_Strict):
    name: str = Field(min_length=1, max_length=256)
    dtype: Literal["number", "string", "any"] = "any"
    required: bool = True


class ValidationRules(_Strict):
    format: Literal["csv", "parquet"] = "csv"
    min_bytes: int = Field(default=1, ge=0)
    max_bytes: int = Field(default=10 * 1024**3, ge=1)
    min_rows: int = Field(default=1, ge=0)
    columns: list[ColumnRule] = Field(default_factory=list)
    label_column: str | None = None
    # Rows sampled from the head of the object to check types and row count (bounded reads).
    sample_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)


class ModelConfig(TrainingConfig):
    """A model's whole config: its identity and how it trains, how often and what it may spend
    (TrainingConfig), and how its data is validated and its versions evaluated."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    data_prefix: str | None = Field(default=None, description="defaults to datasets/<name>/")
    validation: ValidationRules = Field(default_factory=ValidationRules)
    evaluation: EvaluationSpec
    drift_alarms: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _prefix(self) -> Self:
        expected = f"datasets/{self.name}/"
        if self.data_prefix is not None and self.data_prefix != expected:
            raise ValueError(f"data_prefix must be {expected!r} (the trigger maps datasets/<model>/ keys)")
        return self

    @model_validator(mode="after")
    def _holdout_rules(self) -> Self:
        if self.evaluation.holdout_fraction is not None and self.validation.format != "csv":
            raise ValueError(
                "evaluation.holdout_fraction needs validation.format csv (rows are held out by line)"
            )
        golden = self.evaluation.golden_dataset
        if golden and golden.startswith(self.dataset_prefix):
            raise ValueError(
                f"evaluation.golden_dataset must lie outside {self.dataset_prefix!r}: a key there is a new "
                f"dataset (it starts a run and can become the one trained on); use golden/{self.name}/..."
            )
        if golden and not golden.startswith(f"golden/{self.name}/"):
            raise ValueError(
                f"evaluation.golden_dataset must be a key under golden/{self.name}/ of Seam's bucket"
            )
        return self

    @property
    def dataset_prefix(self) -> str:
        return f"datasets/{self.name}/"
