"""Validate's view of the workflow document: the dataset it checks, and what it sets for the states after
it (the snapshot, whether the data changed, whether the champion needs scoring, the training limits)."""

from pydantic import ConfigDict

from seam.models.run import DatasetRef
from seam.models.snapshot import Snapshot
from seam.models.training_result import TrainingLimits
from seam.models.views import StateView

# Built before the view, which then reuses their schemas instead of generating them again:
# Validate builds them anyway (it writes them).
for _section in (DatasetRef, Snapshot, TrainingLimits):
    _section.model_rebuild()


class ValidateState(StateView):
    model_config = ConfigDict(defer_build=False)

    dataset: DatasetRef | None = None
    force: bool = False  # train even on unchanged data (`seam trigger --force`)
    data_unchanged: bool = False
    snapshot: Snapshot | None = None
    score_champion: bool = False
    limits: TrainingLimits | None = None
