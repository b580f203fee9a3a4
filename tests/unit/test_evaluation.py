"""The evaluation gate: promote or reject with the numbers; never promote what cannot be compared."""

from __future__ import annotations

from typing import Any

import pytest
from seam.domain.evaluation import evaluate
from seam.errors import EvaluationError
from seam.models.champion import Champion
from seam.models.model_config import EvaluationSpec


def spec(**overrides: Any) -> EvaluationSpec:
    return EvaluationSpec.model_validate({"metric": "auc", "direction": "maximize", **overrides})


def champion(value: float, metric: str = "auc", version: str = "000003") -> Champion:
    return Champion(model="churn", version=version, metric=metric, value=value, run_id="seam-churn-old")


@pytest.mark.parametrize(
    ("rules", "challenger", "current", "decision"),
    [
        # first version: only the floor applies
        ({}, 0.5, None, "promote"),
        ({"floor": 0.7}, 0.7, None, "promote"),
        ({"floor": 0.7}, 0.69, None, "reject"),
        ({"direction": "minimize", "floor": 0.3}, 0.3, None, "promote"),
        ({"direction": "minimize", "floor": 0.3}, 0.31, None, "reject"),
        # against a champion, maximize
        ({"min_improvement": 0.0}, 0.80, 0.80, "promote"),  # a tie: same quality, fresher data
        ({"min_improvement": 0.0}, 0.79, 0.80, "reject"),
        ({"min_improvement": 0.01}, 0.82, 0.80, "promote"),
        ({"min_improvement": 0.01}, 0.805, 0.80, "reject"),
        # against a champion, minimize (lower is better)
        ({"direction": "minimize", "min_improvement": 0.01}, 0.18, 0.20, "promote"),
        ({"direction": "minimize", "min_improvement": 0.01}, 0.22, 0.20, "reject"),
        ({"direction": "minimize", "min_improvement": 0.0}, 0.20, 0.20, "promote"),
        # the floor rejects even a challenger that beats the champion
        ({"floor": 0.7, "min_improvement": 0.0}, 0.65, 0.60, "reject"),
        ({"direction": "minimize", "floor": 0.3, "min_improvement": 0.0}, 0.35, 0.40, "reject"),
    ],
)
def test_the_gate_decides_by_floor_direction_and_min_improvement(
    rules: dict[str, Any], challenger: float, current: float | None, decision: str
) -> None:
    result = evaluate(spec(**rules), {"auc": challenger}, champion(current) if current is not None else None)

    assert result.decision == decision
    assert result.challenger == challenger
    assert result.direction == rules.get("direction", "maximize")


@pytest.mark.parametrize(
    ("direction", "challenger", "current", "min_improvement"),
    [
        ("maximize", 0.81, 0.80, 0.01),
        ("maximize", 0.57, 0.56, 0.01),
        ("maximize", 0.3, 0.1, 0.2),
        ("maximize", 0.753, 0.748, 0.005),
        ("minimize", 0.56, 0.57, 0.01),
        ("minimize", 0.1, 0.3, 0.2),
        ("minimize", 0.31, 0.33, 0.02),
    ],
)
def test_an_improvement_of_exactly_the_minimum_promotes(
    direction: str, challenger: float, current: float, min_improvement: float
) -> None:
    result = evaluate(
        spec(direction=direction, min_improvement=min_improvement), {"auc": challenger}, champion(current)
    )

    assert result.decision == "promote", result.reason
    assert result.improvement == pytest.approx(min_improvement)


def test_a_promotion_over_a_champion_records_both_values_and_the_improvement() -> None:
    result = evaluate(spec(min_improvement=0.01), {"auc": 0.85, "loss": 0.2}, champion(0.80))

    assert result.model_dump() == {
        "decision": "promote",
        "metric": "auc",
        "direction": "maximize",
        "challenger": 0.85,
        "champion": 0.80,
        "champion_version": "000003",
        "improvement": pytest.approx(0.05),
        "reason": "auc 0.8000 -> 0.8500 (improvement +0.0500)",
    }


def test_a_rejection_below_the_required_improvement_says_why_with_the_numbers() -> None:
    result = evaluate(spec(min_improvement=0.01), {"auc": 0.8050}, champion(0.80))

    assert result.decision == "reject"
    assert result.reason == "auc 0.8050 vs champion 0.8000: improvement +0.0050 < required 0.01"
    assert (result.champion, result.champion_version) == (0.80, "000003")


def test_a_rejection_by_the_floor_says_which_bound_with_the_numbers() -> None:
    high = evaluate(spec(floor=0.7), {"auc": 0.65}, None)
    low = evaluate(spec(direction="minimize", floor=0.3), {"auc": 0.35}, champion(0.4))

    assert high.reason == "auc=0.6500 is below the floor 0.7"
    assert low.reason == "auc=0.3500 is above the floor 0.3"
    assert (low.champion, low.champion_version) == (0.4, "000003")  # the champion it was compared with


def test_the_first_version_says_there_was_no_champion() -> None:
    result = evaluate(spec(), {"auc": 0.5}, None)

    assert result.reason == "no champion yet: first version clears the floor"
    assert (result.champion, result.champion_version, result.improvement) == (None, None, None)


@pytest.mark.parametrize(("metrics", "available"), [({}, "none"), ({"loss": 0.1, "acc": 0.9}, "acc, loss")])
def test_a_missing_metric_is_an_error_naming_what_training_reported(
    metrics: dict[str, float], available: str
) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate(spec(), metrics, champion(0.8))
    assert str(caught.value) == f"metric 'auc' missing from training results (got: {available})"


def test_a_champion_measured_on_another_metric_cannot_be_compared() -> None:
    with pytest.raises(EvaluationError, match="champion was measured on 'accuracy', config now says 'auc'"):
        evaluate(spec(), {"auc": 0.99}, champion(0.5, metric="accuracy"))
