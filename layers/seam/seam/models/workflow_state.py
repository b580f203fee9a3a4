"""The state machine's document (`WorkflowState`): each Lambda parses it, fills in its own section and
returns it. Apart from run.py's records because it is built at import (below), and only the handlers
that see the document should pay for that."""

from typing import Any

from pydantic import ConfigDict

from seam.models.run import (
    ChampionScoring,
    DatasetRef,
    DeploymentInfo,
    DeployOrder,
    ErrorInfo,
    Evaluation,
    Registration,
    Snapshot,
    TrainingLimits,
    TrainingResult,
    TriggerKind,
    _Record,
)


class WorkflowState(_Record):
    """The state machine's document. Sections fill in as the run advances."""

    # Built at import, unlike the other records: nine of the eleven handlers parse or return it at
    # their first invocation, and Powertools' event_parser would build it a second time (its own
    # TypeAdapter) if the model itself were still unbuilt.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=False)

    run_id: str
    model: str
    trigger: TriggerKind
    dataset: DatasetRef | None = None
    data_unchanged: bool = False
    force: bool = False  # train even on unchanged data (`seam trigger --force`)
    snapshot: Snapshot | None = None
    # The champion has another image digest than the challenger: ScoreChampion runs a Processing job of
    # its image on the holdout before training (always present, False otherwise: DataChanged chooses on it).
    score_champion: bool = False
    limits: TrainingLimits | None = None
    champion_scoring: ChampionScoring | None = None
    training: TrainingResult | None = None
    evaluation: Evaluation | None = None
    registration: Registration | None = None
    deployment: DeploymentInfo | None = None
    rolled_back: bool = False
    deploy: DeployOrder | None = None  # a deploy run: Register resolves its version, Deploy ships it
    error: ErrorInfo | None = None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
