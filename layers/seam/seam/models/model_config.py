"""The model config: one validated record per onboarded model (see DESIGN.md "Model config").

Adding or changing a model is a write of this record (`seam models put FILE.yaml`); no redeploy.
"""

from pydantic import ConfigDict, Field

from seam.models.training_config import TrainingConfig
from seam.models.validation_config import ColumnRule, ValidationConfig, ValidationRules

__all__ = ["ColumnRule", "ModelConfig", "ValidationRules"]


# ValidationConfig first: pydantic orders fields from the last base on, so they keep their order
# (identity, training, data, evaluation) and ValidationConfig's declarations of name and training win
# (the same as ModelIdentity's and TrainingConfig's).
class ModelConfig(ValidationConfig, TrainingConfig):
    """A model's whole config: its identity and how it trains, how often and what it may spend
    (TrainingConfig), and how its data is validated and its versions evaluated (ValidationConfig)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    drift_alarms: list[str] = Field(default_factory=list, max_length=20)
