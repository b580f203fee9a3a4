"""The paired decision: champion and challenger scored on the same holdout rows, their difference, and a
paired bootstrap confidence interval seeded by the run id (DESIGN.md "What decides what serves").

The gate: the challenger's metric must reach `floor` (if set), and its improvement over the champion (in
the metric's direction) must reach `min_improvement` - by the lower bound of the interval when a
confidence level is given, by the point difference otherwise. No champion: the floor alone decides.

The bootstrap:
- *paired*: each resample weighs the rows, and both models are scored with the same weights, so what the
  two have in common (the rows that are easy or hard for both) cancels out of the difference;
- *Poisson weights* (Hanley & MacGibbon 2006; Chamandy et al. 2012): each row gets an independent count
  instead of a multinomial draw of n rows - the same distribution for large n, but one `randbytes` and
  one `bytes.translate` a resample. The table below takes a random byte to a count 0..5 with
  probabilities 94, 95, 46, 16, 4, 1 in 256: the counts nearest 256 x Poisson(1) (each within 1.1/256)
  whose mean and variance are exactly 1, as Poisson(1)'s - the two moments the spread of a bootstrap
  statistic depends on;
- *seeded by the run id* through `random.Random(seed)` (a str seed is hashed with SHA-512, the same on
  every platform and in every process): the same run gives the same interval, bit for bit, on the same
  Python;
- *percentile interval* at `confidence`, linear interpolation between order statistics (numpy's default);
- *1,000 resamples*: enough for a 95% percentile interval (Efron & Tibshirani, "An Introduction to the
  Bootstrap", ch. 13: 1,000-2,000 for intervals, against 50-200 for a standard error); the Monte Carlo
  error of the 2.5% quantile is then about 0.08 standard deviations of the difference, well inside what
  the gate can tell apart, and 1,000 keeps 100,000-row holdouts within seconds (`make bench`).
A resample in which the metric is undefined (every row of one class weighs 0) is drawn again.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import NamedTuple

from seam.domain.metrics import Metric, metric_named
from seam.errors import EvaluationError, HoldoutMismatchError, MetricInputError
from seam.models.evaluation_spec import EvaluationSpec
from seam.models.paired_evaluation import PairedEvaluation
from seam.models.predictions import Predictions

RESAMPLES = 1_000
REPORTED_CONFIDENCE = 0.95  # the interval recorded when the gate decides on the point difference
MAX_DRAWS_PER_RESAMPLE = 10  # undefined resamples redrawn; beyond this the holdout is too thin
POISSON_COUNTS = (94, 95, 46, 16, 4, 1)  # of 256: P(weight = 0), P(1), ... P(5)
POISSON_TABLE = bytes(weight for weight, count in enumerate(POISSON_COUNTS) for _ in range(count))


class PairedRows(NamedTuple):
    """The holdout's rows with both models' scores, in one order (`ids`)."""

    ids: tuple[str, ...]
    labels: tuple[float, ...]
    challenger: tuple[float, ...]
    champion: tuple[float, ...] | None


def pair_rows(
    holdout_ids: Sequence[str], challenger: Predictions, champion: Predictions | None
) -> PairedRows:
    """Both models' predictions on exactly the holdout's rows, in the holdout's order. Refuses a file
    with more, fewer or other rows than the holdout, and two files that disagree on a row's label."""
    expected = tuple(holdout_ids)
    if len(set(expected)) != len(expected):
        raise HoldoutMismatchError("holdout", "the holdout's row ids are not unique")
    by_model = {"challenger": challenger} | ({"champion": champion} if champion is not None else {})
    ordered: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    for name, predictions in by_model.items():
        if predictions.rows != len(expected):
            raise HoldoutMismatchError(
                "row count", f"{name} predictions have {predictions.rows} rows, the holdout {len(expected)}"
            )
        position = {row_id: index for index, row_id in enumerate(predictions.row_ids)}
        missing = [row_id for row_id in expected if row_id not in position]
        if missing:
            unknown = sorted(set(position) - set(expected))
            raise HoldoutMismatchError(
                "row ids",
                f"{name} predictions lack {len(missing)} holdout row(s) (e.g. {', '.join(missing[:3])}) "
                f"and have {len(unknown)} other(s) (e.g. {', '.join(unknown[:3])})",
            )
        order = [position[row_id] for row_id in expected]
        ordered[name] = (
            tuple(predictions.labels[i] for i in order),
            tuple(predictions.scores[i] for i in order),
        )
    labels, challenger_scores = ordered["challenger"]
    champion_scores = None
    if "champion" in ordered:
        champion_labels, champion_scores = ordered["champion"]
        differ = [
            expected[i]
            for i, pair in enumerate(zip(labels, champion_labels, strict=True))
            if pair[0] != pair[1]
        ]
        if differ:
            raise HoldoutMismatchError(
                "labels",
                f"challenger and champion disagree on the label of {len(differ)} row(s), e.g. {differ[0]}",
            )
    return PairedRows(expected, labels, challenger_scores, champion_scores)


def bootstrap_differences(
    metric: Metric, rows: PairedRows, *, seed: str, resamples: int = RESAMPLES
) -> list[float]:
    """`resamples` paired differences metric(challenger) - metric(champion), each on one Poisson-weighted
    resample of the rows, the same weights for both models."""
    if rows.champion is None:
        raise EvaluationError("a paired bootstrap needs the champion's predictions")
    difference = metric.difference_scorer(rows.labels, rows.challenger, rows.champion)
    rng = random.Random(seed)
    n = len(rows.ids)
    differences: list[float] = []
    for _ in range(resamples * MAX_DRAWS_PER_RESAMPLE):
        value = difference(rng.randbytes(n).translate(POISSON_TABLE))
        if not math.isnan(value):
            differences.append(value)
            if len(differences) == resamples:
                return differences
    raise MetricInputError(
        f"{metric.name} is undefined in most bootstrap resamples of the {n} holdout rows "
        f"(too few rows of a class for an interval)"
    )


def percentile_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """The central `confidence` interval of `values`: the (1-c)/2 and (1+c)/2 quantiles, linear
    interpolation between order statistics (numpy.percentile's default method)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")

    def quantile(q: float) -> float:
        position = q * (len(ordered) - 1)
        below = math.floor(position)
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)

    return quantile((1.0 - confidence) / 2.0), quantile((1.0 + confidence) / 2.0)


def decide_paired(
    spec: EvaluationSpec,
    challenger: Predictions,
    champion: Predictions | None,
    holdout_ids: Sequence[str],
    *,
    seed: str,
    confidence: float | None = None,
    resamples: int = RESAMPLES,
) -> PairedEvaluation:
    """Promote or reject the challenger by Seam's own metric on the holdout, paired with the champion.
    `seed` is the run id. Raises a named `EvaluationError` for predictions that do not match the holdout
    (`HoldoutMismatchError`), rows the metric cannot use (`MetricInputError`, `SingleClassError`) and a
    metric Seam does not know (`UnknownMetricError`); nothing is decided then."""
    if confidence is not None and not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0.5, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    metric = metric_named(spec.metric)
    if spec.direction != metric.direction:
        raise EvaluationError(
            f"{spec.metric!r} is {metric.name}, which is to {metric.direction}; "
            f"the config says {spec.direction}"
        )
    rows = pair_rows(holdout_ids, challenger, champion)
    metric.check(rows.labels, rows.challenger, source="challenger predictions")
    if rows.champion is not None:
        metric.check(rows.labels, rows.champion, source="champion predictions")
    value = metric.value(rows.labels, rows.challenger)
    base = {
        "metric": metric.name,
        "direction": metric.direction,
        "challenger": value,
        "min_improvement": spec.min_improvement,
        "floor": spec.floor,
        "rows": len(rows.ids),
        "seed": seed,
    }
    maximize = metric.direction == "maximize"
    below_floor = spec.floor is not None and (value < spec.floor if maximize else value > spec.floor)
    on = f"on {len(rows.ids)} holdout rows"

    if rows.champion is None:
        if below_floor:
            reason = f"{metric.name} {value:.4f} {on} is {_beyond(maximize)} the floor {spec.floor}"
            return PairedEvaluation(decision="reject", decided_on="floor", resamples=0, reason=reason, **base)
        clears = f"clears the floor {spec.floor}" if spec.floor is not None else "(no floor)"
        reason = f"no champion yet: {metric.name} {value:.4f} {on} {clears}"
        return PairedEvaluation(
            decision="promote", decided_on="first version", resamples=0, reason=reason, **base
        )

    current = metric.value(rows.labels, rows.champion)
    level = confidence if confidence is not None else REPORTED_CONFIDENCE
    low, high = percentile_interval(
        bootstrap_differences(metric, rows, seed=seed, resamples=resamples), level
    )
    difference = value - current
    improvement, improvement_lower = (difference, low) if maximize else (-difference, -high)
    improvement_upper = high if maximize else -low
    gate = improvement_lower if confidence is not None else improvement
    # An improvement of exactly the minimum promotes: in binary floating point 0.3 - 0.1 is 0.1999...98.
    meets = gate >= spec.min_improvement or math.isclose(
        gate, spec.min_improvement, rel_tol=1e-9, abs_tol=1e-12
    )
    decided_on = "interval lower bound" if confidence is not None else "point difference"
    numbers = (
        f"{metric.name} champion {current:.4f} -> challenger {value:.4f} on the same {len(rows.ids)} rows: "
        f"improvement {improvement:+.4f}, "
        f"{level:.0%} interval [{improvement_lower:+.4f}, {improvement_upper:+.4f}]"
    )
    if below_floor:
        decision, decided_on = "reject", "floor"
        verdict = f"challenger is {_beyond(maximize)} the floor {spec.floor}"
    else:
        decision = "promote" if meets else "reject"
        named = "lower bound" if confidence is not None else "improvement"
        verdict = f"{named} {gate:+.4f} {'>=' if meets else '<'} required {spec.min_improvement}"
    return PairedEvaluation(
        decision=decision,
        decided_on=decided_on,
        champion=current,
        difference=difference,
        interval=(low, high),
        confidence=level,
        improvement=improvement,
        improvement_lower=improvement_lower,
        resamples=resamples,
        reason=f"{numbers}; {verdict}",
        **base,
    )


def _beyond(maximize: bool) -> str:
    return "below" if maximize else "above"
