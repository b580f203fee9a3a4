"""LaunchTraining's and ScoreChampion's view of the workflow document: the snapshot a job reads."""

from pydantic import ConfigDict

from seam.models.snapshot import Snapshot
from seam.models.views import StateView


class TrainingState(StateView):
    model_config = ConfigDict(defer_build=False)

    snapshot: Snapshot | None = None
