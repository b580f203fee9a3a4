"""The state machine's document (`WorkflowState`): its whole definition. The state handlers parse it
with their views (seam.models.views: the sections each reads, the rest passed through), which
tests/unit/test_state_views.py keeps to this definition; no handler builds it at cold start."""

from typing import Any

from pydantic import ConfigDict

from seam.models.deploy_order import DeployOrder
from seam.models.error_info import ErrorInfo
from seam.models.evaluation import Evaluation
from seam.models.release import DeploymentInfo, Registration
from seam.models.run import DatasetRef, TriggerKind, _Record
from seam.models.snapshot import Snapshot
from seam.models.training_result import ChampionScoring, TrainingLimits, TrainingResult


class WorkflowState(_Record):
    """The state machine's document. Sections fill in as the run advances."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
