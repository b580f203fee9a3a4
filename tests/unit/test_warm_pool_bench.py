"""The warm-pool bench (bench/warm_pool.py) at a small size: it drives the real `is_due` and
`spread_delay`, and tells the per-model spread from the per-run one it replaced."""

from __future__ import annotations

from bench import warm_pool


def test_a_stable_offset_keeps_every_pool_and_the_per_run_spread_did_not() -> None:
    result = warm_pool.run(models=50, slots=8)
    assert result["warm_pool_retrains"] == 50 * 7  # every slot after the first is a retrain
    assert result["warm_pool_reuse_rate"] == 1.0
    assert result["warm_pool_reuse_rate_before"] < 0.95
    assert 1 <= result["warm_pool_peak_launches_per_10s"] <= 50


def test_a_pool_shorter_than_the_gap_is_missed_every_time() -> None:
    # 15-minute cadence, at most 555 s of provisioning + training: a 60 s pool never holds.
    assert warm_pool.run(models=20, slots=4, keep_alive=60)["warm_pool_reuse_rate"] == 0.0


def test_peak_counts_the_busiest_window() -> None:
    assert warm_pool.peak([0, 1, 9.9, 10, 25, 26, 27, 28], 10) == 4
    assert warm_pool.peak([], 10) == 0
