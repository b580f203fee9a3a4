"""The paired-decision bench (bench/paired.py) at a small size: it runs the real decide_paired on the
files it writes and reports every figure for every size and metric."""

from __future__ import annotations

from seam.models.predictions import Predictions

from bench import paired


def test_the_bench_files_parse_and_every_figure_is_reported() -> None:
    challenger, champion = paired.predictions_files(300)
    assert Predictions.from_csv(challenger).rows == Predictions.from_csv(champion).rows == 300
    result = paired.run(sizes=(200, 400), resamples=20)
    keys = {"auc 200 rows", "log_loss 200 rows", "auc 400 rows", "log_loss 400 rows"}
    for figure in ("paired_decision_s", "paired_decision_per_parse", "paired_decision_ns_per_row_resample"):
        assert set(result[figure]) == keys
        assert all(value > 0 for value in result[figure].values())
    assert result["paired_resamples"] == 20
