"""The evaluation gate: does the challenger beat the champion by enough, and clear the floor?"""

from __future__ import annotations

import math

from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.errors import EvaluationError
from seam.models.champion import Champion
from seam.models.model_config import EvaluationSpec
from seam.models.run import Evaluation, RunStatus, WorkflowState


def evaluate_run(
    state: WorkflowState, models: ModelStore, versions: VersionStore, runs: RunStore
) -> Evaluation:
    """The Evaluate state: the trained challenger against the serving champion, by the model's gate;
    the decision and the training metrics are recorded on the run (EVALUATING)."""
    if state.training is None:
        raise EvaluationError("no training result to evaluate")
    config = models.get(state.model)
    result = evaluate(config.evaluation, state.training.metrics, versions.champion(state.model))
    runs.update(
        state.run_id,
        status=RunStatus.EVALUATING,
        evaluation=result.model_dump(mode="json"),
        metrics=state.training.metrics,
    )
    return result


def evaluate(spec: EvaluationSpec, metrics: dict[str, float], champion: Champion | None) -> Evaluation:
    """Decide promote/reject with the numbers. A missing metric is an error: it never promotes."""
    if spec.metric not in metrics:
        available = ", ".join(sorted(metrics)) or "none"
        raise EvaluationError(f"metric {spec.metric!r} missing from training results (got: {available})")
    value = metrics[spec.metric]
    maximize = spec.direction == "maximize"
    base = {"metric": spec.metric, "direction": spec.direction, "challenger": value}

    if spec.floor is not None and (value < spec.floor if maximize else value > spec.floor):
        bound = "below" if maximize else "above"
        return Evaluation(
            decision="reject",
            reason=f"{spec.metric}={value:.4f} is {bound} the floor {spec.floor}",
            **base,
            **_champion_fields(champion),
        )
    if champion is None:
        return Evaluation(
            decision="promote", reason="no champion yet: first version clears the floor", **base
        )
    if champion.metric != spec.metric:
        raise EvaluationError(
            f"champion was measured on {champion.metric!r}, config now says {spec.metric!r}"
        )

    improvement = (value - champion.value) if maximize else (champion.value - value)
    fields = {**base, **_champion_fields(champion), "improvement": improvement}
    # A tie promotes only when no improvement is required: same quality, fresher data. An improvement of
    # exactly the minimum promotes: in binary floating point 0.3 - 0.1 is 0.19999999999999998.
    meets = improvement >= spec.min_improvement or math.isclose(
        improvement, spec.min_improvement, rel_tol=1e-9, abs_tol=1e-12
    )
    if meets:
        reason = f"{spec.metric} {champion.value:.4f} -> {value:.4f} (improvement {improvement:+.4f})"
        return Evaluation(decision="promote", reason=reason, **fields)
    reason = (
        f"{spec.metric} {value:.4f} vs champion {champion.value:.4f}: improvement {improvement:+.4f} "
        f"< required {spec.min_improvement}"
    )
    return Evaluation(decision="reject", reason=reason, **fields)


def _champion_fields(champion: Champion | None) -> dict[str, object]:
    if champion is None:
        return {}
    return {"champion": champion.value, "champion_version": champion.version}
