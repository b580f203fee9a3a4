"""The record of a paired evaluation: champion and challenger scored on the same holdout rows."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PairedEvaluation(BaseModel):
    """What the gate decided and every number it decided with, enough to reproduce it.

    `difference` is challenger - champion and `interval` its paired bootstrap interval at `confidence`;
    `improvement` is the difference in the metric's direction (champion - challenger for a metric to
    minimize) and `improvement_lower` the lower end of its interval. `decided_on` says which number met
    `min_improvement`: the interval's lower bound (confidence set), the point difference (not set), the
    floor alone (the challenger missed it) or the first version (no champion).
    """

    # Built at first use (seam.models.run._Record says why): only Evaluate and the CLI read it.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    decision: Literal["promote", "reject"]
    decided_on: Literal["interval lower bound", "point difference", "floor", "first version"]
    metric: str
    direction: Literal["maximize", "minimize"]
    challenger: float
    champion: float | None = None
    difference: float | None = None
    interval: tuple[float, float] | None = None
    confidence: float | None = Field(default=None, gt=0.5, lt=1.0)
    improvement: float | None = None
    improvement_lower: float | None = None
    min_improvement: float
    floor: float | None = None
    rows: int = Field(ge=1)
    resamples: int = Field(ge=0)
    seed: str
    reason: str
