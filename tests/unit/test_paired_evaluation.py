"""The paired decision: both models on the same holdout rows, a paired bootstrap interval seeded by the
run id, the gate on its lower bound (confidence set) or on the point difference, the floor on the
challenger alone; and every input it refuses, by name."""

from __future__ import annotations

import random
import statistics
from typing import Any

import numpy as np
import pytest
from seam.domain.metrics import METRICS
from seam.domain.paired_evaluation import (
    POISSON_COUNTS,
    POISSON_TABLE,
    PairedRows,
    bootstrap_differences,
    decide_paired,
    pair_rows,
    percentile_interval,
)
from seam.errors import (
    EvaluationError,
    HoldoutMismatchError,
    MetricInputError,
    SingleClassError,
    UnknownMetricError,
)
from seam.models.evaluation_spec import EvaluationSpec
from seam.models.predictions import Predictions, positional_ids

RUN = "seam-churn-0123456789ab"


def spec(metric: str = "auc", **overrides: Any) -> EvaluationSpec:
    direction = METRICS[metric.rsplit(":", 1)[-1]].direction
    return EvaluationSpec.model_validate({"metric": metric, "direction": direction, **overrides})


def holdout(
    n: int, seed: int, *, edge: float, positive_rate: float = 0.3
) -> tuple[list[float], list[float], list[float]]:
    """Labels and two models' probabilities; the challenger separates the classes `edge` better."""
    rng = random.Random(seed)
    labels = [float(rng.random() < positive_rate) for _ in range(n)]
    noise = [rng.gauss(0.0, 1.0) for _ in labels]
    champion = [_sigmoid(1.2 * (2 * y - 1) + noise[i] + rng.gauss(0.0, 0.8)) for i, y in enumerate(labels)]
    challenger = [
        _sigmoid((1.2 + edge) * (2 * y - 1) + noise[i] + rng.gauss(0.0, 0.8)) for i, y in enumerate(labels)
    ]
    return labels, challenger, champion


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def predictions(labels: list[float], scores: list[float], ids: tuple[str, ...] | None = None) -> Predictions:
    return Predictions(row_ids=ids or positional_ids(len(labels)), labels=labels, scores=scores)


def paired(n: int, seed: int, edge: float) -> tuple[Predictions, Predictions, tuple[str, ...]]:
    labels, challenger, champion = holdout(n, seed, edge=edge)
    return predictions(labels, challenger), predictions(labels, champion), positional_ids(n)


# --- the bootstrap -----------------------------------------------------------------------------------


def test_poisson_weights_have_the_mean_and_variance_of_poisson_1() -> None:
    assert len(POISSON_TABLE) == 256 and sum(POISSON_COUNTS) == 256
    mean = sum(k * c for k, c in enumerate(POISSON_COUNTS)) / 256
    variance = sum(k * k * c for k, c in enumerate(POISSON_COUNTS)) / 256 - mean**2
    assert (mean, variance) == (1.0, 1.0)
    for k, count in enumerate(POISSON_COUNTS):  # each within 1.1/256 of Poisson(1)
        assert abs(count / 256 - np.exp(-1) / np.prod(range(1, k + 1))) < 1.1 / 256


def test_the_same_run_gives_the_same_interval_bit_for_bit() -> None:
    challenger, champion, ids = paired(800, 1, edge=0.2)
    first = decide_paired(spec(min_improvement=0.01), challenger, champion, ids, seed=RUN, confidence=0.95)
    again = decide_paired(spec(min_improvement=0.01), challenger, champion, ids, seed=RUN, confidence=0.95)
    assert first == again and first.interval == again.interval
    other_run = decide_paired(
        spec(min_improvement=0.01), challenger, champion, ids, seed=RUN + "x", confidence=0.95
    )
    assert other_run.interval != first.interval  # the seed is the run id, not a constant
    assert other_run.difference == first.difference


def test_the_order_of_rows_in_the_files_does_not_matter() -> None:
    challenger, champion, ids = paired(500, 2, edge=0.2)
    order = list(range(500))
    random.Random(9).shuffle(order)
    shuffled = Predictions(
        row_ids=tuple(challenger.row_ids[i] for i in order),
        labels=tuple(challenger.labels[i] for i in order),
        scores=tuple(challenger.scores[i] for i in order),
    )
    kwargs: dict[str, Any] = {"seed": RUN, "confidence": 0.9}
    assert decide_paired(spec(), shuffled, champion, ids, **kwargs) == decide_paired(
        spec(), challenger, champion, ids, **kwargs
    )


def delong_sd(labels: list[float], first: list[float], second: list[float]) -> float:
    """DeLong, DeLong & Clarke-Pearson (1988): the standard deviation of AUC(first) - AUC(second) on
    the same rows, from the placement values; the bootstrap must agree with it."""
    y = np.asarray(labels)
    components = []
    for scores in (np.asarray(first), np.asarray(second)):
        pos, neg = scores[y == 1], scores[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        components.append((psi.mean(axis=1), psi.mean(axis=0)))
    v10 = np.cov(np.vstack([components[0][0], components[1][0]]))
    v01 = np.cov(np.vstack([components[0][1], components[1][1]]))
    contrast = np.array([1.0, -1.0])
    variance = contrast @ v10 @ contrast / (y == 1).sum() + contrast @ v01 @ contrast / (y == 0).sum()
    return float(np.sqrt(variance))


@pytest.mark.parametrize("positive_rate", [0.3, 0.7])
def test_the_bootstrap_spread_of_an_auc_difference_agrees_with_delong(positive_rate: float) -> None:
    labels, challenger, champion = holdout(1500, 5, edge=0.1, positive_rate=positive_rate)
    rows = PairedRows(positional_ids(1500), tuple(labels), tuple(challenger), tuple(champion))
    differences = bootstrap_differences(METRICS["auc"], rows, seed=RUN, resamples=1000)
    assert len(differences) == 1000
    # 1,000 resamples estimate a standard deviation to about 2%; 10% leaves room for the asymptotics.
    assert statistics.stdev(differences) == pytest.approx(delong_sd(labels, challenger, champion), rel=0.1)
    point = METRICS["auc"].value(labels, challenger) - METRICS["auc"].value(labels, champion)
    assert statistics.fmean(differences) == pytest.approx(point, abs=0.003)


def test_the_bootstrap_spread_of_a_mean_difference_is_its_standard_error() -> None:
    labels, challenger, champion = holdout(2000, 6, edge=0.1)
    rows = PairedRows(positional_ids(2000), tuple(labels), tuple(challenger), tuple(champion))
    loss = METRICS["log_loss"].per_row
    assert loss is not None
    per_row = [loss(y, a) - loss(y, b) for y, a, b in zip(labels, challenger, champion, strict=True)]
    differences = bootstrap_differences(METRICS["log_loss"], rows, seed=RUN, resamples=1000)
    assert statistics.stdev(differences) == pytest.approx(statistics.stdev(per_row) / 2000**0.5, rel=0.1)


def test_identical_models_have_a_zero_width_interval() -> None:
    labels, scores, _ = holdout(300, 3, edge=0.0)
    same = predictions(labels, scores)
    result = decide_paired(spec(), same, same, positional_ids(300), seed=RUN, confidence=0.95)
    assert (result.difference, result.interval) == (0.0, (0.0, 0.0))
    assert result.decision == "promote"  # a tie with no improvement required: same quality, fresher data


def test_percentile_interval_matches_numpy() -> None:
    values = [random.Random(4).gauss(0.0, 1.0) for _ in range(999)]
    for confidence in (0.8, 0.9, 0.95, 0.99):
        low, high = percentile_interval(values, confidence)
        expected = np.percentile(values, [50 * (1 - confidence), 50 * (1 + confidence)])
        assert (low, high) == pytest.approx(tuple(expected), abs=1e-12)


def test_resamples_in_which_the_metric_is_undefined_are_drawn_again() -> None:
    # One positive: it weighs 0 in 94 of 256 resamples, where AUC is undefined; those are redrawn.
    labels = [0.0] * 30 + [1.0]
    scores = [i / 31 for i in range(31)]
    rows = PairedRows(positional_ids(31), tuple(labels), tuple(scores), tuple(reversed(scores)))
    differences = bootstrap_differences(METRICS["auc"], rows, seed=RUN, resamples=200)
    assert len(differences) == 200 and all(-1.0 <= d <= 1.0 for d in differences)
    # Rows whose AUC is never defined (one class: `check` refuses them first) stop with a named error
    # instead of drawing forever.
    one_class = PairedRows(positional_ids(3), (1.0, 1.0, 1.0), (0.1, 0.5, 0.9), (0.2, 0.4, 0.6))
    with pytest.raises(MetricInputError, match="undefined in most bootstrap resamples of the 3 holdout rows"):
        bootstrap_differences(METRICS["auc"], one_class, seed=RUN, resamples=10)


# --- the decision ------------------------------------------------------------------------------------


def test_a_difference_inside_the_interval_is_rejected_when_confidence_is_set() -> None:
    # A small edge on few rows: the point improvement clears 0.005, the interval's lower bound does not.
    challenger, champion, ids = paired(400, 8, edge=0.15)
    point = decide_paired(spec(min_improvement=0.005), challenger, champion, ids, seed=RUN)
    paired_gate = decide_paired(
        spec(min_improvement=0.005), challenger, champion, ids, seed=RUN, confidence=0.95
    )
    assert point.improvement is not None and point.improvement >= 0.005
    assert (point.decision, point.decided_on) == ("promote", "point difference")
    assert paired_gate.improvement_lower is not None and paired_gate.improvement_lower < 0.005
    assert (paired_gate.decision, paired_gate.decided_on) == ("reject", "interval lower bound")
    assert "lower bound" in paired_gate.reason and "< required 0.005" in paired_gate.reason


def test_a_clearly_better_challenger_is_promoted_on_its_lower_bound() -> None:
    challenger, champion, ids = paired(3000, 9, edge=0.6)
    result = decide_paired(spec(min_improvement=0.005), challenger, champion, ids, seed=RUN, confidence=0.95)
    assert result.decision == "promote" and result.decided_on == "interval lower bound"
    assert result.interval is not None and result.improvement_lower == result.interval[0] > 0.005
    assert result.interval[0] < result.difference < result.interval[1]


def test_a_worse_challenger_is_rejected() -> None:
    challenger, champion, ids = paired(2000, 10, edge=-0.4)
    result = decide_paired(spec(), challenger, champion, ids, seed=RUN)
    assert result.decision == "reject" and result.difference is not None and result.difference < 0


def test_minimize_metrics_improve_downwards() -> None:
    challenger, champion, ids = paired(3000, 11, edge=0.6)  # better probabilities: lower log loss
    result = decide_paired(
        spec("log_loss", min_improvement=0.001), challenger, champion, ids, seed=RUN, confidence=0.9
    )
    assert result.direction == "minimize" and result.decision == "promote"
    assert result.challenger < result.champion and result.difference < 0 < result.improvement
    assert result.improvement == -result.difference
    assert result.interval is not None and result.improvement_lower == -result.interval[1]
    assert result.confidence == 0.9
    worse = decide_paired(spec("log_loss"), champion, challenger, ids, seed=RUN, confidence=0.9)
    assert worse.decision == "reject" and worse.improvement < 0


def test_the_floor_applies_to_the_challenger_alone() -> None:
    challenger, champion, ids = paired(2000, 12, edge=0.6)
    assert decide_paired(spec(), challenger, champion, ids, seed=RUN).decision == "promote"
    result = decide_paired(spec(floor=0.99), challenger, champion, ids, seed=RUN, confidence=0.95)
    assert (result.decision, result.decided_on) == ("reject", "floor")
    assert result.champion is not None and result.interval is not None  # the numbers are still recorded
    assert "below the floor 0.99" in result.reason
    above = decide_paired(spec("log_loss", floor=0.01), challenger, champion, ids, seed=RUN)
    assert (above.decision, above.decided_on) == ("reject", "floor") and "above the floor" in above.reason


@pytest.mark.parametrize(("floor", "decision"), [(None, "promote"), (0.6, "promote"), (0.99, "reject")])
def test_without_a_champion_the_floor_decides(floor: float | None, decision: str) -> None:
    challenger, _, ids = paired(500, 13, edge=0.3)
    result = decide_paired(spec(floor=floor), challenger, None, ids, seed=RUN, confidence=0.95)
    assert result.decision == decision
    assert result.decided_on == ("floor" if decision == "reject" else "first version")
    assert (result.champion, result.difference, result.interval, result.resamples) == (None, None, None, 0)
    assert result.rows == 500 and result.seed == RUN


def test_an_improvement_of_exactly_the_minimum_promotes() -> None:
    labels = [0.0, 0.0, 1.0, 1.0]
    ids = positional_ids(4)
    # champion accuracy 0.5, challenger 0.75: improvement 0.25 (binary floating point: 0.75 - 0.5 exact;
    # the minimum is written so that it is not: 0.1 + 0.15).
    champion = predictions(labels, [0.6, 0.2, 0.3, 0.9])
    challenger = predictions(labels, [0.2, 0.3, 0.4, 0.9])
    result = decide_paired(spec("accuracy", min_improvement=0.1 + 0.15), challenger, champion, ids, seed=RUN)
    assert result.improvement == 0.25 and result.decision == "promote"


def test_the_record_holds_every_number_and_one_line_of_reason() -> None:
    challenger, champion, ids = paired(600, 14, edge=0.3)
    result = decide_paired(
        spec("validation:auc", min_improvement=0.002, floor=0.6),
        challenger,
        champion,
        ids,
        seed=RUN,
        confidence=0.95,
        resamples=300,
    )
    record = result.model_dump(mode="json")
    assert record["metric"] == "auc" and record["rows"] == 600 and record["resamples"] == 300
    assert record["seed"] == RUN and record["confidence"] == 0.95
    assert record["min_improvement"] == 0.002 and record["floor"] == 0.6
    assert record["difference"] == pytest.approx(record["challenger"] - record["champion"])
    assert len(record["interval"]) == 2 and "\n" not in record["reason"]
    assert "on the same 600 rows" in record["reason"] and "95% interval" in record["reason"]


# --- what it refuses -----------------------------------------------------------------------------------


def test_predictions_must_cover_exactly_the_holdout() -> None:
    challenger, champion, ids = paired(50, 15, edge=0.2)
    with pytest.raises(
        HoldoutMismatchError, match="challenger predictions have 50 rows, the holdout 51"
    ) as caught:
        pair_rows(positional_ids(51), challenger, champion)
    assert caught.value.rule == "row count"
    other_ids = tuple(f"r{i}" for i in range(50))
    with pytest.raises(
        HoldoutMismatchError, match=r"champion predictions lack 50 holdout row\(s\)"
    ) as caught:
        pair_rows(ids, challenger, predictions(list(champion.labels), list(champion.scores), other_ids))
    assert caught.value.rule == "row ids"
    flipped = [1.0 - y if i == 7 else y for i, y in enumerate(champion.labels)]
    with pytest.raises(HoldoutMismatchError, match=r"disagree on the label of 1 row\(s\), e.g. 7") as caught:
        pair_rows(ids, challenger, predictions(flipped, list(champion.scores)))
    assert caught.value.rule == "labels"


def test_a_single_class_holdout_has_no_auc() -> None:
    ids = positional_ids(4)
    only_positives = predictions([1.0] * 4, [0.2, 0.4, 0.6, 0.8])
    with pytest.raises(SingleClassError):
        decide_paired(spec(), only_positives, only_positives, ids, seed=RUN)


def test_an_unknown_metric_or_a_contradicting_direction_is_named() -> None:
    challenger, champion, ids = paired(50, 16, edge=0.2)
    with pytest.raises(UnknownMetricError):
        decide_paired(EvaluationSpec(metric="validation:ndcg"), challenger, champion, ids, seed=RUN)
    with pytest.raises(
        EvaluationError, match="'validation:auc' is auc, which is to maximize; the config says minimize"
    ):
        decide_paired(
            EvaluationSpec(metric="validation:auc", direction="minimize"), challenger, champion, ids, seed=RUN
        )


def test_a_confidence_outside_one_half_to_one_is_refused() -> None:
    challenger, champion, ids = paired(50, 17, edge=0.2)
    for confidence in (0.5, 1.0, 0.3):
        with pytest.raises(ValueError, match="confidence"):
            decide_paired(spec(), challenger, champion, ids, seed=RUN, confidence=confidence)
