"""Finalize's view of the workflow document: everything the run's outcome and record are made of. The
snapshot, the training limits, the champion's scoring and a deploy run's order pass through."""

from pydantic import ConfigDict

from seam.models.error_info import ErrorInfo
from seam.models.evaluation import Evaluation
from seam.models.release import DeploymentInfo, Registration
from seam.models.run import DatasetRef
from seam.models.training_result import TrainingResult
from seam.models.views import StateView

# Built before the view, which then reuses their schemas instead of generating them again:
# Finalize builds them anyway (it records them on the run).
for _section in (DatasetRef, Evaluation):
    _section.model_rebuild()


class FinalizeState(StateView):
    model_config = ConfigDict(defer_build=False)

    dataset: DatasetRef | None = None
    data_unchanged: bool = False
    training: TrainingResult | None = None
    evaluation: Evaluation | None = None
    registration: Registration | None = None
    deployment: DeploymentInfo | None = None
    rolled_back: bool = False
    error: ErrorInfo | None = None
