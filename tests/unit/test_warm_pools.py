"""15-minute retrains keep their warm pools: a model starts at the same offset in every slot, and
`seam models put` warns when the pool would expire between two scheduled retrains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from seam.domain.triggering import is_due, scheduled_request, spread_delay
from seam.domain.warm_pools import typical_training_seconds, warm_pool_warning
from seam.models.run import Run, RunRequest, RunStatus, TriggerKind

from tests.unit.conftest import model_config

TICK = timedelta(minutes=15)
EPOCH_SLOT = datetime(2026, 11, 28, tzinfo=UTC)


def scheduled(model: str, at: datetime) -> RunRequest:
    config = model_config(model, retrain_every_minutes=15)
    assert is_due(config, at)
    return scheduled_request(config, at, "unit")


def test_a_models_offset_is_the_same_in_every_slot() -> None:
    slots = [EPOCH_SLOT + i * TICK for i in range(96)]
    for model in ("churn", "fraud", "ltv"):
        requests = [scheduled(model, at) for at in slots]
        assert len({r.run_id for r in requests}) == 96  # a new run every slot ...
        assert len({spread_delay(r, 600) for r in requests}) == 1  # ... at the same offset


def test_offsets_differ_across_models_and_fill_the_window() -> None:
    delays = [spread_delay(scheduled(f"model-{i:04d}", EPOCH_SLOT), 600) for i in range(1000)]
    assert all(0 <= d <= 600 for d in delays)
    assert len(set(delays)) > 450  # 1,000 names over 601 seconds: distinct offsets, not a few bunches
    per_minute = [sum(60 * m <= d < 60 * (m + 1) for d in delays) for m in range(10)]
    assert max(per_minute) < 2 * min(per_minute)  # no minute holds twice the launches of another


def test_no_window_means_no_delay() -> None:
    assert spread_delay(scheduled("churn", EPOCH_SLOT), 0) == 0


def run_that_trained(seconds: float) -> Run:
    return Run(
        run_id="seam-churn-0",
        model="churn",
        trigger=TriggerKind.SCHEDULE,
        status=RunStatus.DEPLOYED,
        state_timings={"VALIDATING": 2.0, "TRAINING": seconds, "EVALUATING": 1.0},
    )


def test_typical_training_is_the_median_of_runs_that_trained() -> None:
    skipped = Run(run_id="seam-churn-1", model="churn", trigger=TriggerKind.SCHEDULE, state_timings={})
    runs = [run_that_trained(s) for s in (100, 400, 120)] + [skipped]
    assert typical_training_seconds(runs) == 120
    assert typical_training_seconds([skipped]) is None


def with_pool(cadence: int | None, keep_alive: int) -> object:
    base = model_config(retrain_every_minutes=cadence).training.model_dump()
    return model_config(
        retrain_every_minutes=cadence, training={**base, "warm_pool_keep_alive_seconds": keep_alive}
    )


@pytest.mark.parametrize(
    ("cadence", "keep_alive", "training"),
    [
        (15, 900, None),  # the pool outlives the whole cadence
        (15, 600, 300),  # 900 - 300 = 600: the next start lands at the pool's last second
        (60, 3600, 120),
        (15, 0, None),  # no warm pool asked for
        (None, 900, None),  # no schedule: data drops and alarms have no cadence to check
    ],
)
def test_no_warning_when_the_pool_holds_or_is_not_used(
    cadence: int | None, keep_alive: int, training: float | None
) -> None:
    assert warm_pool_warning(with_pool(cadence, keep_alive), training) is None


def test_warning_names_the_gap_and_the_keep_alive_that_would_hold_it() -> None:
    warning = warm_pool_warning(with_pool(15, 600), 120)
    assert warning is not None
    assert "every 900 s" in warning and "about 120 s" in warning
    assert "780 s pass between" in warning and "lives 600 s" in warning
    assert "warm_pool_keep_alive_seconds: 780 would hold it" in warning


def test_warning_without_a_measured_training_assumes_the_whole_cadence() -> None:
    warning = warm_pool_warning(with_pool(30, 900), None)
    assert warning is not None
    assert "no training measured yet" in warning and "warm_pool_keep_alive_seconds: 1800" in warning


def test_warning_says_when_no_keep_alive_can_hold_the_gap() -> None:
    warning = warm_pool_warning(with_pool(120, 900), 600)
    assert warning is not None
    assert "6600 s" in warning and "up to 3,600 s" in warning
    assert "set warm_pool_keep_alive_seconds to 0" in warning
