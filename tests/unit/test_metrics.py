"""Seam's own metrics against scikit-learn: unweighted, weighted (what a bootstrap resample computes),
on random data and on the edges (ties, perfect, all wrong, clipped probabilities, one row of a class)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest
from seam.domain.metrics import METRICS, find_metric, metric_named
from seam.errors import MetricInputError, SingleClassError, UnknownMetricError
from sklearn import metrics as sk

Rows = tuple[list[float], list[float]]


def sklearn_metric(name: str, labels: list[float], scores: list[float], weights: list[int] | None) -> float:
    y, s = np.asarray(labels), np.asarray(scores)
    predicted = (s >= 0.5).astype(float)
    match name:
        case "auc":
            return float(sk.roc_auc_score(y, s, sample_weight=weights))
        case "accuracy":
            return float(sk.accuracy_score(y, predicted, sample_weight=weights))
        case "f1":
            return float(sk.f1_score(y, predicted, sample_weight=weights, zero_division=0.0))
        case "log_loss":
            return float(sk.log_loss(y, s, sample_weight=weights, labels=[0.0, 1.0]))
        case "rmse":
            return float(sk.root_mean_squared_error(y, s, sample_weight=weights))
        case "mae":
            return float(sk.mean_absolute_error(y, s, sample_weight=weights))
    raise AssertionError(name)


def classifier_rows(n: int, seed: int, positive_rate: float = 0.3, decimals: int | None = None) -> Rows:
    rng = random.Random(seed)
    labels = [float(rng.random() < positive_rate) for _ in range(n)]
    scores = [min(1.0, max(0.0, 0.35 * y + 0.65 * rng.random())) for y in labels]
    if decimals is not None:  # coarse scores: many ties, across classes too
        scores = [round(s, decimals) for s in scores]
    return labels, scores


def regressor_rows(n: int, seed: int) -> Rows:
    rng = random.Random(seed)
    labels = [rng.gauss(10.0, 3.0) for _ in range(n)]
    return labels, [y + rng.gauss(0.0, 1.5) for y in labels]


CLASSIFIER_METRICS = ["auc", "accuracy", "f1", "log_loss"]
EDGES: dict[str, Callable[[], Rows]] = {
    "random": lambda: classifier_rows(500, 1),
    "more positives than negatives": lambda: classifier_rows(400, 2, positive_rate=0.8),
    "ties within and across classes": lambda: classifier_rows(600, 3, decimals=1),
    "perfect": lambda: ([0.0, 0.0, 0.0, 1.0, 1.0], [0.1, 0.2, 0.3, 0.8, 0.9]),
    "all wrong": lambda: ([0.0, 0.0, 1.0, 1.0], [0.9, 0.7, 0.2, 0.1]),
    "every score equal": lambda: ([0.0, 1.0, 0.0, 1.0, 1.0], [0.5] * 5),
    "certain probabilities 0 and 1 (clipped)": lambda: ([0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]),
    "one positive": lambda: ([0.0] * 9 + [1.0], [i / 10 for i in range(10)]),
    "one negative": lambda: ([1.0] * 9 + [0.0], [i / 10 for i in range(10)]),
}


@pytest.mark.parametrize("name", CLASSIFIER_METRICS)
@pytest.mark.parametrize("edge", list(EDGES))
def test_classifier_metrics_match_scikit_learn(name: str, edge: str) -> None:
    labels, scores = EDGES[edge]()
    assert METRICS[name].value(labels, scores) == pytest.approx(
        sklearn_metric(name, labels, scores, None), rel=1e-12, abs=1e-12
    )


@pytest.mark.parametrize("name", ["rmse", "mae"])
@pytest.mark.parametrize("seed", [1, 2])
def test_regression_metrics_match_scikit_learn(name: str, seed: int) -> None:
    labels, scores = regressor_rows(300, seed)
    assert METRICS[name].value(labels, scores) == pytest.approx(
        sklearn_metric(name, labels, scores, None), rel=1e-12
    )
    assert METRICS[name].value(labels, labels) == 0.0  # perfect


@pytest.mark.parametrize("name", list(METRICS))
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_weighted_metrics_match_scikit_learn_sample_weights(name: str, seed: int) -> None:
    """A bootstrap resample is the metric with integer row weights (zeros included): scikit-learn's
    sample_weight computes the same thing."""
    rng = random.Random(seed)
    if name in ("rmse", "mae"):
        labels, scores = regressor_rows(400, seed)
    else:
        labels, scores = classifier_rows(400, seed, positive_rate=0.25 + 0.25 * (seed % 3), decimals=2)
    weights = [rng.choice((0, 0, 1, 1, 1, 2, 3, 5)) for _ in labels]
    got = METRICS[name].scorer(labels, scores)(bytes(weights))
    assert got == pytest.approx(sklearn_metric(name, labels, scores, weights), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", list(METRICS))
def test_a_paired_difference_is_the_difference_of_the_two_metrics(name: str) -> None:
    rng = random.Random(7)
    if name in ("rmse", "mae"):
        labels, first = regressor_rows(300, 7)
        second = [y + rng.gauss(0.0, 2.0) for y in labels]
    else:
        labels, first = classifier_rows(300, 7, decimals=2)
        second = [min(1.0, max(0.0, s + rng.gauss(0.0, 0.2))) for s in first]
    metric = METRICS[name]
    difference = metric.difference_scorer(labels, first, second)
    # All weights 1: the layout a metric chooses does not matter, the difference is the metrics'.
    ones = bytes([1]) * len(labels)
    assert difference(ones) == pytest.approx(
        metric.value(labels, first) - metric.value(labels, second), abs=1e-12
    )
    # A row's weight follows the row through the metric's own layout: weight one row 0 and the
    # difference is the metrics' with that row dropped.
    for dropped in (0, 17, len(labels) - 1):
        keep = [i for i in range(len(labels)) if i != dropped]
        expected = metric.value([labels[i] for i in keep], [first[i] for i in keep]) - metric.value(
            [labels[i] for i in keep], [second[i] for i in keep]
        )
        weights = _weights_in_layout(metric, labels, first, dropped)
        assert difference(weights) == pytest.approx(expected, abs=1e-12)


def _weights_in_layout(metric, labels: list[float], first: list[float], dropped: int) -> bytes:
    order = metric.layout(labels, first) if metric.layout and metric.per_row is None else range(len(labels))
    return bytes(0 if row == dropped else 1 for row in order)


def test_undefined_weights_give_nan() -> None:
    labels, scores = [0.0, 0.0, 1.0, 1.0], [0.1, 0.4, 0.35, 0.8]
    assert math.isnan(METRICS["auc"].scorer(labels, scores)(bytes([1, 1, 0, 0])))  # no positive weighs
    assert math.isnan(METRICS["log_loss"].scorer(labels, scores)(bytes(4)))


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("validation:auc", "auc"),
        ("AUC", "auc"),
        ("val/roc-auc", "auc"),
        ("test:accuracy", "accuracy"),
        ("validation:logloss", "log_loss"),
        ("validation:f1-score", "f1"),
        ("train:rmse", "rmse"),
        ("mae", "mae"),
    ],
)
def test_metric_names_resolve(name: str, metric: str) -> None:
    found = find_metric(name)
    assert found is not None and found.name == metric


def test_an_unknown_metric_is_named() -> None:
    assert find_metric("validation:ndcg@10") is None
    with pytest.raises(UnknownMetricError, match=r"cannot compute 'validation:ndcg@10'.*knows auc"):
        metric_named("validation:ndcg@10")


def test_directions() -> None:
    assert {m.name for m in METRICS.values() if m.direction == "maximize"} == {"auc", "accuracy", "f1"}
    assert {m.name for m in METRICS.values() if m.direction == "minimize"} == {"log_loss", "rmse", "mae"}


def test_rows_a_metric_cannot_use_are_refused() -> None:
    with pytest.raises(SingleClassError, match="both classes; every label of the 3 holdout rows is 1"):
        METRICS["auc"].check([1.0, 1.0, 1.0], [0.2, 0.5, 0.9], source="challenger predictions")
    with pytest.raises(MetricInputError, match="labels 0 or 1; challenger predictions has 2"):
        METRICS["auc"].check([0.0, 1.0, 2.0], [0.2, 0.5, 0.9], source="challenger predictions")
    with pytest.raises(MetricInputError, match=r"probabilities in \[0, 1\]; champion predictions has 1"):
        METRICS["log_loss"].check([0.0, 1.0], [0.2, 1.5], source="champion predictions")
    METRICS["accuracy"].check([1.0, 1.0], [0.2, 0.9], source="x")  # one class is fine for accuracy
    METRICS["rmse"].check([3.5, -1.0], [120.0, 7.0], source="x")  # any numbers for a regressor
