"""Evaluate's section of the workflow document: the gate's decision, and for a paired evaluation every
number it decided with. Also part of the run record."""

from typing import Literal

from seam.models.paired_evaluation import PairedEvaluation
from seam.models.run import _Record


class Evaluation(_Record):
    decision: Literal["promote", "reject"]
    metric: str
    direction: Literal["maximize", "minimize"]
    challenger: float
    champion: float | None = None
    champion_version: str | None = None
    improvement: float | None = None
    reason: str
    # Paired evaluation (evaluation.holdout_fraction set): every number the gate decided with, and the
    # holdout both models were scored on. `warning`: why the gate fell back to the logged metric.
    paired: PairedEvaluation | None = None
    holdout: str | None = None
    warning: str | None = None
    # Which mechanism scored the champion on the holdout: its predictions came from the challenger's own
    # training job (same image digest) or from a Processing job of the champion's image (`_job`).
    champion_scored_by: Literal["training job", "processing job"] | None = None
    champion_scoring_job: str | None = None
