"""Will a model's warm pool still be there when its next scheduled retrain starts?

SageMaker keeps a finished job's instance for `KeepAlivePeriodInSeconds` (at most 3,600 s); a matching
job that starts within it skips provisioning. Scheduled retrains of a model start exactly one cadence
apart (`spread_delay` is stable per model), so the pool holds when cadence - training time <= keep-alive.
"""

from __future__ import annotations

import math
from statistics import median
from typing import TYPE_CHECKING

from seam.models.run import RunStatus

if TYPE_CHECKING:
    from seam.models.run_record import Run
    from seam.models.training_config import TrainingConfig

MAX_KEEP_ALIVE_SECONDS = 3600  # SageMaker's limit on KeepAlivePeriodInSeconds


def typical_training_seconds(runs: list[Run]) -> float | None:
    """The median time the model's recent runs spent in TRAINING (launch to job end), if any did."""
    measured = [r.state_timings[RunStatus.TRAINING] for r in runs if RunStatus.TRAINING in r.state_timings]
    return median(measured) if measured else None


def warm_pool_warning(config: TrainingConfig, training_seconds: float | None) -> str | None:
    """Why the model's warm pool would expire between two scheduled retrains, and which keep-alive
    would hold it; None when it holds, or when the model has no warm pool or no cadence."""
    keep_alive = config.training.warm_pool_keep_alive_seconds
    if not keep_alive or not config.retrain_every_minutes:
        return None
    cadence = config.retrain_every_minutes * 60
    # Without a measured training the pool must cover the whole cadence: the shortest job leaves
    # the longest gap.
    gap = math.ceil(cadence - (training_seconds or 0))
    if gap <= keep_alive:
        return None
    basis = (
        f"training takes about {training_seconds:.0f} s (median of recent runs)"
        if training_seconds
        else "no training measured yet"
    )
    fix = (
        f"warm_pool_keep_alive_seconds: {gap} would hold it"
        if gap <= MAX_KEEP_ALIVE_SECONDS
        else f"no keep-alive can hold a {gap} s gap (SageMaker allows up to {MAX_KEEP_ALIVE_SECONDS:,} s): "
        "retrain more often, or set warm_pool_keep_alive_seconds to 0 and stop paying for an idle instance"
    )
    return (
        f"warm pool of {config.name} expires before its next scheduled retrain: it retrains every "
        f"{cadence} s, {basis}, so {gap} s pass between a job's end and the next start, and the pool "
        f"lives {keep_alive} s; {fix}"
    )
