"""Races on the per-model lock that the first scenario suite missed (issue 16, items 1, 5 and 8).

Each test replays one interleaving against the real trigger handler, the real workflow and the stores
on moto, with the interleaving forced at a named call (a one-shot botocore hook in the trigger's own
thread: another container's write, or Finalize, landing between the trigger's read and its write).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from seam.adapters.aws import add_client_hook
from seam.domain.starting import TriggerOutcome, start_batch, start_or_coalesce
from seam.domain.triggering import requests_for
from seam.models.events import QueuedRequest, parse_trigger_body
from seam.models.run import RunRequest, RunStatus

from tests.reliability.conftest import Figure
from tests.reliability.test_scenarios import (
    INVALID_CSV,
    drop_event,
    executions,
    onboard,
    run_ids_for,
    wait_all,
)
from tests.workflow.harness import GOOD_CSV, Harness

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]


def after_call_in_this_thread(
    operation: str, matches: Callable[[dict[str, Any]], bool], action: Callable[[], Any]
) -> None:
    """Run `action` once, just after the first DynamoDB `operation` call made in the calling thread
    (the test's trigger, not the workflow's Lambdas) whose parameters match."""
    thread, armed, done = threading.current_thread(), threading.Event(), threading.Event()

    def check(params: dict[str, Any], **_: Any) -> None:
        if threading.current_thread() is thread and not done.is_set() and matches(params):
            armed.set()

    def act(**_: Any) -> None:
        if threading.current_thread() is thread and armed.is_set() and not done.is_set():
            done.set()
            action()

    def register(c: Any) -> None:
        c.meta.events.register(f"provide-client-params.dynamodb.{operation}", check)
        c.meta.events.register(f"after-call.dynamodb.{operation}", act)

    add_client_hook(register)


def request_of(h: Harness, event: dict[str, Any]) -> RunRequest:
    mapped = requests_for(
        parse_trigger_body(json.dumps(event)), h.deps.models, h.bucket, h.deps.settings.stage
    )
    assert isinstance(mapped, list)
    return mapped[0]


# -- item 1 (a): a redelivered older drop must not take the pending slot back ------------------------------


def test_a_redelivered_older_request_never_takes_the_pending_slot_from_a_newer_one(
    harness: Harness, figure: Figure
) -> None:
    onboard(harness, "redeliver")
    v0 = drop_event(harness, "redeliver", "v0", GOOD_CSV)  # holds the lock, waits in training
    v1, v2 = (drop_event(harness, "redeliver", day, INVALID_CSV) for day in ("v1", "v2"))
    [r0], [r2] = (run_ids_for(harness, e) for e in (v0, v2))
    for event in (v0, v1, v2, v1):  # v1 redelivered last (at-least-once delivery, or a partial batch)
        assert harness.trigger(event) == {"batchItemFailures": []}

    lock = harness.deps.locks.get("redeliver")
    assert lock is not None and lock.holder == r0
    pending = lock.pending_run_id
    assert pending == r2  # the newest drop waits, whatever arrived last
    harness.finish_training(r0)
    wait_all(harness, [r0, r2])
    started = set(executions(harness))

    assert started == {r0, r2}  # v1's older bytes are never trained
    figure.scenario = "older request redelivered after a newer one"
    figure.injected = "holder v0; drops v1, v2; v1 redelivered after v2"
    figure.expected = "v2 pending and trained at hand-over; v1 never starts"
    figure.observed = f"pending {'v2' if pending == r2 else 'v1'}; runs started {len(started)} (v0, v2)"


# -- item 1 (b): a batch that read a free lock must not overwrite a newer pending request ------------------


def test_a_batch_racing_another_container_keeps_the_newest_pending(harness: Harness, figure: Figure) -> None:
    onboard(harness, "batchrace")
    w, x, y, z = (drop_event(harness, "batchrace", day, INVALID_CSV) for day in ("w", "x", "y", "z"))
    rw, rx, ry, rz = (request_of(harness, e) for e in (w, x, y, z))
    # Another trigger container takes the free lock (with the older drop w) just after the batch read it.
    after_call_in_this_thread(
        "BatchGetItem",
        lambda _: True,
        lambda: start_or_coalesce(rw, harness.deps.locks, harness.deps.runs, harness.deps.workflow),
    )
    deps = harness.deps
    outcomes = start_batch([rx, ry, rz], deps.models, deps.locks, deps.runs, deps.workflow)

    lock = deps.locks.get("batchrace")
    assert lock is not None and lock.holder == rw.run_id
    assert lock.pending_run_id == rz.run_id  # z, the newest, is not dropped
    assert outcomes[rz.run_id] is TriggerOutcome.COALESCED
    assert {outcomes[rx.run_id], outcomes[ry.run_id]} == {TriggerOutcome.SUPERSEDED}
    wait_all(harness, [rw.run_id, rz.run_id])
    assert set(executions(harness)) == {rw.run_id, rz.run_id}
    figure.scenario = "batch [x, y, z] vs another container"
    figure.injected = "batch reads a free lock; another container takes it (w) before the batch writes"
    figure.expected = "z pending (COALESCED), x and y SUPERSEDED; w then z run"
    figure.observed = (
        f"pending {'z' if lock.pending_run_id == rz.run_id else lock.pending_run_id}; "
        f"x {outcomes[rx.run_id]}, y {outcomes[ry.run_id]}, z {outcomes[rz.run_id]}"
    )


# -- item 5: a redelivery of the holder racing its own Finalize --------------------------------------------


@pytest.mark.parametrize("with_pending", [False, True], ids=["no pending", "pending"])
def test_a_holder_redelivered_while_it_finalizes_never_parks_the_lock(
    harness: Harness, figure: Figure, with_pending: bool
) -> None:
    model = f"parked-{int(with_pending)}"
    onboard(harness, model)
    first = drop_event(harness, model, "first", GOOD_CSV)
    [holder] = run_ids_for(harness, first)
    harness.trigger(first)
    pending: list[str] = []
    if with_pending:
        later = drop_event(harness, model, "later", INVALID_CSV)
        pending = run_ids_for(harness, later)
        harness.trigger(later)

    def finish_holder() -> None:  # Finalize runs between the redelivery's run read and its lock write
        harness.finish_training(holder, status="Failed", failure_reason="AlgorithmError: boom")
        wait_all(harness, [holder])

    after_call_in_this_thread("GetItem", lambda p: holder in json.dumps(p.get("Key", {})), finish_holder)
    assert harness.trigger(first) == {"batchItemFailures": []}  # the holder's drop, redelivered
    wait_all(harness, [holder, *pending])
    # The lock is free (or held by a live run): the next drop starts at once, not after a sweep.
    after = drop_event(harness, model, "after", INVALID_CSV)
    [next_run] = run_ids_for(harness, after)
    harness.trigger(after)
    started = set(executions(harness))

    assert harness.run(holder).status is RunStatus.FAILED
    assert next_run in started
    assert started == {holder, *pending, next_run}
    row = figure.row(f"holder redelivered during its Finalize [{'with' if with_pending else 'no'} pending]")
    row.injected = "redelivery reads the run (TRAINING), Finalize ends it and releases, then the lock write"
    row.expected = "redelivery answered (done/superseded); the next drop starts at once"
    row.observed = f"next drop {'started' if next_run in started else 'coalesced behind a finished run'}"


# -- item 8: the schedule intent names the cadence ---------------------------------------------------------


def test_a_cadence_change_never_skips_a_tick_as_already_done(harness: Harness, figure: Figure) -> None:
    onboard(harness, "cadence", retrain_every_minutes=15)
    quarter_slot = 1_900_000  # a 15-minute slot ...
    first_tick = {"source": "seam.schedule", "detail-type": "Scheduled Retrain Tick", "id": "t1"}
    first_tick["time"] = _iso(quarter_slot * 900)
    [first] = _scheduled(harness, first_tick)
    harness.trigger(QueuedRequest.body(first))
    wait_all(harness, [first.run_id])
    # The team moves the model to hourly; the hourly slot with the same number comes due.
    onboard(harness, "cadence", retrain_every_minutes=60)
    hourly_tick = {**first_tick, "id": "t2", "time": _iso(quarter_slot * 3600)}
    [second] = _scheduled(harness, hourly_tick)
    harness.trigger(QueuedRequest.body(second))
    wait_all(harness, [second.run_id])

    assert second.run_id != first.run_id
    assert set(executions(harness)) == {first.run_id, second.run_id}
    figure.scenario = "cadence change, same slot number"
    figure.injected = "15-min slot N ran; cadence -> 60 min; hourly slot N due"
    figure.expected = "a new run for the hourly slot"
    runs = len(set(executions(harness)))
    figure.observed = f"{runs} runs (the hourly tick {'ran' if runs == 2 else 'was skipped as ALREADY_DONE'})"


def _iso(epoch_seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scheduled(h: Harness, tick: dict[str, Any]) -> list[RunRequest]:
    mapped = requests_for(
        parse_trigger_body(json.dumps(tick)), h.deps.models, h.bucket, h.deps.settings.stage
    )
    assert isinstance(mapped, list)
    return mapped
