"""The event-storm bench (bench/storm.py) at a small size: it drives the real trigger through the
template's queue, and the coalescing invariants hold whatever the figures say."""

from __future__ import annotations

from bench import storm


def test_a_storm_starts_one_run_per_model_and_keeps_at_most_one_pending_each() -> None:
    result = storm.run(events=60, models=4, batch_size=10)

    assert result["storm_events_handled"] == 60
    assert result["storm_redeliveries"] == 0 and result["storm_dead_lettered"] == 0
    assert result["storm_runs_started"] == 4  # one run per model; the rest coalesced
    assert result["storm_locks_held"] == 4
    # Each model's newest drop holds the lock or waits as its one pending retrain (it waits unless
    # the model's first start was already its newest drop: then every other drop is superseded).
    assert result["storm_newest_kept"] == 4
    assert result["storm_pending"] <= 4
    assert result["storm_batches"] == 6
    # One shared read per batch; writes only for the starts and the batch's pending retrains.
    assert result["storm_aws_calls"]["BatchGetItem"] == 6
    assert result["storm_aws_calls"]["StartExecution"] == 4
    assert 0 < result["storm_handler_in_aws_calls_s"] < result["storm_handler_s"]
    assert result["storm_events_per_s_seam_only"] > result["storm_events_per_s"]


def test_the_what_if_of_batches_of_100_reads_and_writes_once_per_batch() -> None:
    result = storm.what_if_larger_batches(events=60, models=4)

    assert result["storm_what_if_batch_size"] == 100
    assert result["storm_what_if_runs_started"] == 4 and result["storm_what_if_pending"] == 4
    calls = result["storm_what_if_aws_calls"]
    # One batch: one shared read (68 keys), one transaction for the four pending retrains (the four
    # starts come first, so no lock is free when it checks), and the starts' own calls.
    assert calls["BatchGetItem"] == 1 and calls["TransactWriteItems"] == 1
    assert calls["StartExecution"] == 4
    assert result["storm_what_if_aws_calls_per_event"] == round(sum(calls.values()) / 60, 3)
