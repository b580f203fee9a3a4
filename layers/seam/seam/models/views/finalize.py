"""Finalize's view of the workflow document: everything the run's outcome and record are made of. The
snapshot, the training limits, the champion's scoring and a deploy run's order pass through."""

from typing import Literal

from pydantic import ConfigDict

from seam.models.error_info import ErrorInfo
from seam.models.release import DeploymentInfo, Registration
from seam.models.run import DatasetRef, _Record
from seam.models.training_result import TrainingResult
from seam.models.views import StateView


class EvaluationOutcome(_Record):
    """What Finalize reads of the evaluation section (seam.models.evaluation.Evaluation, same fields and
    types): the decision, and the metric the new champion carries. The rest (a paired evaluation's
    numbers) goes to the run record as Evaluate wrote it: Finalize does not define those records."""

    model_config = ConfigDict(extra="allow")

    decision: Literal["promote", "reject"]
    metric: str
    challenger: float
    champion_version: str | None = None
    reason: str


# Built before the view, which then reuses their schemas instead of generating them again:
# Finalize builds them anyway (it records them on the run).
for _section in (DatasetRef, EvaluationOutcome):
    _section.model_rebuild()


class FinalizeState(StateView):
    model_config = ConfigDict(defer_build=False)

    dataset: DatasetRef | None = None
    data_unchanged: bool = False
    training: TrainingResult | None = None
    evaluation: EvaluationOutcome | None = None
    registration: Registration | None = None
    deployment: DeploymentInfo | None = None
    rolled_back: bool = False
    error: ErrorInfo | None = None
