"""Who a model is and where it serves: the part of a model config Register reads (name, team, approval,
serving). Its own module, and ModelConfig's base, because Register validates this and not a whole
ModelConfig, whose classes and build cost about 6 ms of its cold start (ModelStore.identity). The
config was checked whole when it was put or, stored some other way, by the trigger before the run
started (seam.domain.starting.refused_by_config)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from seam.models.names import MODEL_NAME_PATTERN
from seam.models.serving_target import ServingTarget


class ModelIdentity(BaseModel):
    # Read from a whole config, so the other fields are ignored here (ModelConfig forbids unknown ones).
    # Built at first use, like every Seam record (seam.models.run._Record says why).
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    name: str = Field(pattern=MODEL_NAME_PATTERN)
    team: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/=+@-]+$")
    approval: Literal["auto", "manual"] = "auto"
    serving: ServingTarget | None = None

    def cost_tags(self, run_id: str, stage: str) -> list[dict[str, str]]:
        """The tags on a run's jobs and model package: activated as cost allocation tags, they let
        Cost Explorer split the bill by team, model, run and stage."""
        tags = {"seam:model": self.name, "seam:team": self.team, "seam:run-id": run_id, "seam:stage": stage}
        return [{"Key": key, "Value": value} for key, value in tags.items() if value]
