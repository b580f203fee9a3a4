"""The state machine's document (`WorkflowState`): each Lambda parses it, fills in its own section and
returns it. Apart from run.py's records because it is built at import (below), and only the handlers
that see the document should pay for that."""

from typing import Any

from pydantic import ConfigDict

from seam.models.error_info import ErrorInfo
from seam.models.evaluation import Evaluation
from seam.models.paired_evaluation import PairedEvaluation
from seam.models.release import DeploymentInfo, Registration
from seam.models.run import DatasetRef, DeployOrder, TriggerKind, _Record
from seam.models.snapshot import ChampionArtifact, Holdout, Snapshot
from seam.models.training_result import ChampionScoring, TrainingLimits, TrainingResult

# The document's sections are built first, each before the records that nest it: pydantic reuses a
# built record's schema wherever it is nested, so the document below, the run record (Finalize, the
# trigger, the serving functions) and a section a handler validates on its own (Validate's Snapshot,
# Evaluate's Evaluation) do not each generate the same sections again. In Finalize that is about 3 ms
# of 9 spent building schemas (bench/cold_start.py); a handler that builds only the document pays
# about 1 ms more for it.
SECTIONS = (
    DatasetRef,
    ChampionArtifact,
    Holdout,
    Snapshot,
    TrainingLimits,
    ChampionScoring,
    TrainingResult,
    PairedEvaluation,
    Evaluation,
    Registration,
    DeploymentInfo,
    DeployOrder,
    ErrorInfo,
)
for _section in SECTIONS:
    _section.model_rebuild()


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
