"""The paired decision's cost: Seam's own metric for the challenger and the champion on the same holdout,
a paired bootstrap interval (1,000 resamples) and the gate (seam.domain.paired_evaluation.decide_paired),
for AUC and log loss on synthetic holdouts of 10,000 and 100,000 rows.

Seconds depend on the machine (and a 256 MB Lambda has about 1/7 of a vCPU), so each figure comes with
two measured in the same run: the ratio to parsing the two predictions files of the same rows (work the
Evaluate state does anyway) and the cost per row and resample in nanoseconds.
"""

from __future__ import annotations

import random
import time
from typing import Any

from seam.domain.metrics import METRICS
from seam.domain.paired_evaluation import RESAMPLES, decide_paired
from seam.models.evaluation_spec import EvaluationSpec
from seam.models.predictions import Predictions, positional_ids

SIZES = (10_000, 100_000)
MEASURED = ("auc", "log_loss")
RUN_ID = "seam-bench-0123456789ab"


def predictions_files(rows: int, seed: int = 7) -> tuple[str, str]:
    """Two models' predictions files on one holdout (30% positives); the challenger separates a little
    better. Scores rounded to 6 decimals, as a model's output often is: ties happen."""
    rng = random.Random(seed)
    lines = (["row_id,label,score"], ["row_id,label,score"])
    for row in range(rows):
        label = int(rng.random() < 0.3)
        shared = rng.gauss(0.0, 1.0)
        for model, edge in enumerate((1.3, 1.2)):
            logit = edge * (2 * label - 1) + shared + rng.gauss(0.0, 0.8)
            lines[model].append(f"{row},{label},{1.0 / (1.0 + 2.718281828459045**-logit):.6f}")
    return "\n".join(lines[0]) + "\n", "\n".join(lines[1]) + "\n"


def run(sizes: tuple[int, ...] = SIZES, resamples: int = RESAMPLES) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    per_parse: dict[str, float] = {}
    per_row_resample_ns: dict[str, float] = {}
    for rows in sizes:
        challenger_file, champion_file = predictions_files(rows)
        started = time.perf_counter()
        challenger = Predictions.from_csv(challenger_file, source="challenger predictions")
        champion = Predictions.from_csv(champion_file, source="champion predictions")
        parse_s = time.perf_counter() - started
        holdout = positional_ids(rows)
        for name in MEASURED:
            spec = EvaluationSpec(metric=name, direction=METRICS[name].direction, min_improvement=0.001)
            started = time.perf_counter()
            decide_paired(
                spec, challenger, champion, holdout, seed=RUN_ID, confidence=0.95, resamples=resamples
            )
            elapsed = time.perf_counter() - started
            key = f"{name} {rows:,} rows"
            seconds[key] = round(elapsed, 6)
            per_parse[key] = round(elapsed / parse_s, 2)
            per_row_resample_ns[key] = round(elapsed / (rows * resamples) * 1e9, 1)
    return {
        "paired_decision_s": seconds,
        "paired_decision_per_parse": per_parse,
        "paired_decision_ns_per_row_resample": per_row_resample_ns,
        "paired_resamples": resamples,
    }
