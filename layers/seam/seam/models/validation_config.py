"""What Validate reads of a model config: how the model's data is checked (`ValidationRules`), where it
lies (`data_prefix`), how it is held out and evaluated (`evaluation`) and how long it trains (`training`,
for the wait's limits and the champion's image). ModelConfig's base, so the fields and their cross-checks
are defined once; read on its own (`ModelStore.validation`), its classes and build cost Validate about
2 ms less of a cold start than the whole config's (bench/cold_start.py). The config was checked whole
when it was put or, stored some other way, by the trigger before the run started
(seam.domain.starting.refused_by_config)."""

from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from seam.models.evaluation_spec import EvaluationSpec
from seam.models.names import MODEL_NAME_PATTERN
from seam.models.training_spec import TrainingSpec, _Strict


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


class ValidationConfig(_Strict):
    # Read from a whole config, so the other fields are ignored here (ModelConfig forbids unknown ones).
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    # Also ModelIdentity's and TrainingConfig's (ModelConfig's other bases): the same declarations.
    name: str = Field(pattern=MODEL_NAME_PATTERN)
    training: TrainingSpec
    data_prefix: str | None = Field(default=None, description="defaults to datasets/<name>/")
    validation: ValidationRules = Field(default_factory=ValidationRules)
    evaluation: EvaluationSpec

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
