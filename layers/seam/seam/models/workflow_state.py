"""The state machine's document (`WorkflowState`): each Lambda parses it, fills in its own section and
returns it. Apart from run.py's records because it is built at import (below), and only the handlers
that see the document should pay for that."""

from typing import Any

from pydantic import ConfigDict

from seam.models.paired_evaluation import PairedEvaluation
from seam.models.run import (
    ChampionArtifact,
    DatasetRef,
    DeploymentInfo,
    DeployOrder,
    ErrorInfo,
    Evaluation,
    Holdout,
    Registration,
    Snapshot,
    TrainingLimits,
    TrainingResult,
    TriggerKind,
    _Record,
)

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
    limits: TrainingLimits | None = None
    training: TrainingResult | None = None
    evaluation: Evaluation | None = None
    registration: Registration | None = None
    deployment: DeploymentInfo | None = None
    rolled_back: bool = False
    deploy: DeployOrder | None = None  # a deploy run: Register resolves its version, Deploy ships it
    error: ErrorInfo | None = None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
