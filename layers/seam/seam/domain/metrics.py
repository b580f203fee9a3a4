"""The metrics Seam computes itself from per-row predictions, each with its direction.

| name       | direction | from                                                                     |
|------------|-----------|--------------------------------------------------------------------------|
| `auc`      | maximize  | ROC AUC: P(score of a 1 > score of a 0), a tie counts 1/2 (Mann-Whitney U) |
| `accuracy` | maximize  | share of rows whose class (1 when score >= 0.5) equals the label           |
| `f1`       | maximize  | 2·TP / (2·TP + FP + FN) for class 1 (class as for accuracy); 0 if all are 0 |
| `log_loss` | minimize  | mean of -ln(p) (label 1) or -ln(1-p) (label 0), p clipped to [eps, 1-eps]  |
| `rmse`     | minimize  | sqrt(mean((score - label)²))                                               |
| `mae`      | minimize  | mean(abs(score - label))                                                   |

The 0.5 threshold is the one `predict` of a scikit-learn classifier and the churn example's
`validation:accuracy` use (>= 0.5 is class 1). eps is the float64 machine epsilon, the clip scikit-learn's
`log_loss` applies. AUC, accuracy, F1 and log loss need labels 0/1; accuracy, F1 and log loss need scores
in [0, 1] (probabilities); AUC needs both classes.

Every metric is computed from row weights (`bytes`, one small count a row: 1 for every row gives the
metric itself; a bootstrap resample gives other counts), so the point value and each resample go through
the same code. Everything runs at C speed in the standard library (`math.sumprod`, `itertools.accumulate`,
`operator.itemgetter`); AUC sorts once and then costs O(n) a resample.
"""

from __future__ import annotations

import math
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from operator import itemgetter, sub
from typing import Literal, NamedTuple

from seam.errors import MetricInputError, SingleClassError, UnknownMetricError

Direction = Literal["maximize", "minimize"]
# A weight per row (bytes: counts 0..255) -> the metric on the weighted rows; NaN when undefined for
# these weights (e.g. every row of one class weighs 0).
Scorer = Callable[[bytes], float]
THRESHOLD = 0.5
EPS = sys.float_info.epsilon


class Metric(NamedTuple):
    """A metric Seam computes. A mean over rows gives `per_row` (the row's value from label and score);
    any other gives `weighted` (labels, scores -> a `Scorer`)."""

    name: str
    direction: Direction
    binary_labels: bool
    probabilities: bool
    per_row: Callable[[float, float], float] | None = None
    weighted: Callable[[Sequence[float], Sequence[float]], Scorer] | None = None
    # Rows (label, challenger score) -> the order a paired scorer lays them out in; None keeps theirs.
    layout: Callable[[Sequence[float], Sequence[float]], list[int]] | None = None

    def check(self, labels: Sequence[float], scores: Sequence[float], *, source: str) -> None:
        """Refuse rows this metric cannot be computed from, with a named error."""
        if self.binary_labels:
            others = {label for label in labels if label not in (0.0, 1.0)}
            if others:
                shown = ", ".join(f"{v:g}" for v in sorted(others)[:3])
                raise MetricInputError(f"{self.name} needs labels 0 or 1; {source} has {shown}")
            if self.name == "auc" and len(set(labels)) < 2:
                only = f"{labels[0]:g}" if labels else "none"
                raise SingleClassError(
                    f"auc needs both classes; every label of the {len(labels)} holdout rows is {only}"
                )
        if self.probabilities:
            outside = [s for s in scores if not 0.0 <= s <= 1.0]
            if outside:
                raise MetricInputError(
                    f"{self.name} needs probabilities in [0, 1]; {source} has {len(outside)} score(s) "
                    f"outside, e.g. {outside[0]:g}"
                )

    def scorer(self, labels: Sequence[float], scores: Sequence[float]) -> Scorer:
        """The metric on weighted rows: weights[i] is row i's weight."""
        if self.weighted is not None:
            return self.weighted(labels, scores)
        assert self.per_row is not None
        values = list(map(self.per_row, labels, scores))
        return _sums_scorer([values], lambda sums, total: sums[0] / total)

    def value(self, labels: Sequence[float], scores: Sequence[float]) -> float:
        """The metric on these rows (every row weighs 1)."""
        return self.scorer(labels, scores)(bytes([1]) * len(labels))

    def difference_scorer(
        self, labels: Sequence[float], challenger: Sequence[float], champion: Sequence[float]
    ) -> Scorer:
        """weights -> metric(challenger) - metric(champion), both on the same weighted rows. The weights
        are laid on the rows in an order of the metric's choosing (fixed for given rows): for a bootstrap
        with independent weights any fixed order is as good as another, and AUC's is the fastest. A mean
        over rows is one weighted sum of the per-row differences."""
        if self.per_row is not None:
            differences = [
                self.per_row(y, a) - self.per_row(y, b)
                for y, a, b in zip(labels, challenger, champion, strict=True)
            ]
            return _sums_scorer([differences], lambda sums, total: sums[0] / total)
        if self.layout is not None:
            order = self.layout(labels, challenger)
            labels = [labels[i] for i in order]
            challenger, champion = [challenger[i] for i in order], [champion[i] for i in order]
        first, second = self.scorer(labels, challenger), self.scorer(labels, champion)
        return lambda weights: first(weights) - second(weights)


# --- AUC ---------------------------------------------------------------------------------------------


def _gather(indices: Sequence[int]) -> Callable[[Sequence[int]], Sequence[int]]:
    """A C-speed `lambda seq: [seq[i] for i in indices]` (a single index still gives a sequence)."""
    if len(indices) == 1:
        only = indices[0]
        return lambda seq: (seq[only],)
    return itemgetter(*indices)


def _take(indices: Sequence[int]) -> Callable[[bytes], Sequence[int]]:
    """weights -> the weights at `indices`: a bytes slice when they are consecutive, a gather otherwise."""
    first = indices[0]
    if list(indices) == list(range(first, first + len(indices))):
        return lambda weights: weights[first : first + len(indices)]
    return _gather(indices)


def _auc_ranked_label(labels: Sequence[float]) -> float:
    """The class AUC keeps running sums of: the smaller one (fewer integers to build a resample)."""
    positives = sum(1 for y in labels if y == 1.0)
    return 1.0 if positives <= len(labels) - positives else 0.0


def auc_layout(labels: Sequence[float], scores: Sequence[float]) -> list[int]:
    """The ranked class by score, then the other class by score: the scorer of these scores then reads
    both classes' weights as slices, and its running sums in order."""
    ranked = _auc_ranked_label(labels)
    return sorted(range(len(labels)), key=lambda i: (labels[i] != ranked, scores[i], i))


def auc_scorer(labels: Sequence[float], scores: Sequence[float]) -> Scorer:
    """Weighted AUC in O(n) a call. Once: sort the smaller class ("ranked") by score and, for each row of
    the other class, count the ranked rows strictly below (`lo`) and at or below (`hi`) its score. A call:
    C = running sums of the ranked rows' weights; S = Σ_other w·(C[lo] + C[hi]) is twice the weight of the
    pairs in which the other row is above, a tie counting 1/2 (only tied rows have hi != lo, so S is
    2·Σ w·C[lo] plus a sum over those). AUC = S / (2·W_pos·W_neg) when the ranked class is the
    negatives, 1 - that when it is the positives. Integers up to the last division: the value does not
    depend on summation order."""
    ranked_label = _auc_ranked_label(labels)
    ranked = sorted((i for i, y in enumerate(labels) if y == ranked_label), key=lambda i: (scores[i], i))
    other = sorted((i for i, y in enumerate(labels) if y != ranked_label), key=lambda i: (scores[i], i))
    if not ranked or not other:
        return lambda weights: math.nan
    ranked_scores = [scores[i] for i in ranked]
    lo = [bisect_left(ranked_scores, scores[i]) for i in other]
    hi = [bisect_right(ranked_scores, scores[i]) for i in other]
    tied = [k for k in range(len(other)) if hi[k] != lo[k]]
    ranked_weights, other_weights, at_lo = _take(ranked), _take(other), _gather(lo)
    if tied:
        tied_weights = _gather([other[k] for k in tied])
        tied_lo, tied_hi = _gather([lo[k] for k in tied]), _gather([hi[k] for k in tied])
    flip = ranked_label == 1.0

    def score(weights: bytes) -> float:
        running = list(accumulate(ranked_weights(weights), initial=0))
        w_other = other_weights(weights)
        pairs = running[-1] * sum(w_other)
        if not pairs:
            return math.nan
        twice = 2 * math.sumprod(w_other, at_lo(running))
        if tied:
            twice += math.sumprod(tied_weights(weights), map(sub, tied_hi(running), tied_lo(running)))
        return (2 * pairs - twice if flip else twice) / (2 * pairs)

    return score


# --- metrics from weighted sums over rows -----------------------------------------------------------


def _sums_scorer(columns: Sequence[Sequence[float]], combine: Callable[[list[float], int], float]) -> Scorer:
    def score(weights: bytes) -> float:
        total = sum(weights)
        if not total:
            return math.nan
        return combine([math.sumprod(weights, column) for column in columns], total)

    return score


def _predicted(score: float) -> float:
    return 1.0 if score >= THRESHOLD else 0.0


def correct(label: float, score: float) -> float:
    return 1.0 if _predicted(score) == label else 0.0


def log_loss(label: float, score: float) -> float:
    return -math.log(min(max(score if label else 1.0 - score, EPS), 1.0 - EPS))


def absolute_error(label: float, score: float) -> float:
    return abs(score - label)


def f1_scorer(labels: Sequence[float], scores: Sequence[float]) -> Scorer:
    predicted = [_predicted(s) for s in scores]
    true_positive = [y * p for y, p in zip(labels, predicted, strict=True)]
    wrong = [1.0 if y != p else 0.0 for y, p in zip(labels, predicted, strict=True)]  # FP + FN

    def combine(sums: list[float], _total: int) -> float:
        tp, fp_fn = sums
        return 2 * tp / (2 * tp + fp_fn) if tp or fp_fn else 0.0

    return _sums_scorer([true_positive, wrong], combine)


def rmse_scorer(labels: Sequence[float], scores: Sequence[float]) -> Scorer:
    squared = [(s - y) ** 2 for y, s in zip(labels, scores, strict=True)]
    return _sums_scorer([squared], lambda sums, total: math.sqrt(sums[0] / total))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("auc", "maximize", True, False, weighted=auc_scorer, layout=auc_layout),
        Metric("accuracy", "maximize", True, True, per_row=correct),
        Metric("f1", "maximize", True, True, weighted=f1_scorer),
        Metric("log_loss", "minimize", True, True, per_row=log_loss),
        Metric("rmse", "minimize", False, False, weighted=rmse_scorer),
        Metric("mae", "minimize", False, False, per_row=absolute_error),
    )
}
ALIASES = {
    "roc_auc": "auc",
    "auc_roc": "auc",
    "acc": "accuracy",
    "f1_score": "f1",
    "logloss": "log_loss",
    "cross_entropy": "log_loss",
}


def find_metric(name: str) -> Metric | None:
    """The metric a config's metric name means, or None. Case, a prefix up to the last ':' or '/' (the
    split, as in `validation:auc`) and '-' for '_' do not matter: `validation:auc`, `AUC`, `val/roc-auc`
    are all `auc`."""
    key = re.split(r"[:/]", name.strip().lower())[-1].replace("-", "_")
    return METRICS.get(ALIASES.get(key, key))


def metric_named(name: str) -> Metric:
    metric = find_metric(name)
    if metric is None:
        known = ", ".join(METRICS)
        raise UnknownMetricError(f"Seam cannot compute {name!r} from per-row predictions (it knows {known})")
    return metric
