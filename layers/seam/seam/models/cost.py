"""What a run cost, from what it used: the typed record stored on the run, carried in its outcome event
and summed by `seam cost` (seam.domain.costing computes it)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PartName = Literal[
    "champion_scoring", "training", "warm_pool", "lambda_compute", "lambda_requests", "step_functions"
]


class CostPart(BaseModel):
    """One line of a run's bill: a quantity used times its unit price. `usd` is None when the price is
    not known (`reason` says why); the quantity is still recorded."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    quantity: float = Field(ge=0)
    unit: str  # "instance-seconds", "GB-seconds", "requests", "transitions"
    unit_price_usd: float | None = None
    usd: float | None = None
    basis: str = ""  # where the quantity comes from, in words
    reason: str | None = None  # why `usd` is unknown


class RunCost(BaseModel):
    """A run's cost by part. `total_usd` is None when any part's price is unknown (`unknown_reason`
    names it); `known_usd` sums the parts whose price is known."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    total_usd: float | None
    known_usd: float
    unknown_reason: str | None = None
    parts: dict[PartName, CostPart] = Field(default_factory=dict)
    team: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    managed_spot: bool = False
    spot_savings_percent: float | None = None  # (1 - billable / training time) x 100, as SageMaker documents
    prices_as_of: str
    region: str

    def summary(self) -> dict[str, float | None]:
        """Each part's USD (the outcome event's `cost.parts`)."""
        return {name: part.usd for name, part in self.parts.items()}
