"""Evaluate's view of the workflow document: the holdout (in the snapshot), what training and the
champion's scoring produced, and the evaluation it writes."""

from pydantic import ConfigDict

from seam.models.evaluation import Evaluation
from seam.models.snapshot import Snapshot
from seam.models.training_result import ChampionScoring, TrainingResult
from seam.models.views import StateView

# Built before the view, which then reuses their schemas instead of generating them again:
# Evaluate builds it anyway (it writes it).
for _section in (Evaluation,):
    _section.model_rebuild()


class EvaluateState(StateView):
    model_config = ConfigDict(defer_build=False)

    snapshot: Snapshot | None = None
    champion_scoring: ChampionScoring | None = None
    training: TrainingResult | None = None
    evaluation: Evaluation | None = None
