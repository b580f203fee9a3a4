"""A schedule tick fans out: one delayed message per due model on the trigger queue, which then
starts each model's run like any other request (docs/SCALE.md: 1,000 models never start at once)."""

from __future__ import annotations

import json
from typing import Any

from seam.domain.triggering import spread_delay
from seam.models.run import RunRequest, TriggerKind

from tests.workflow.harness import Harness, model_config

TICK = {
    "source": "seam.schedule",
    "detail-type": "Scheduled Retrain Tick",
    "time": "2026-11-22T09:15:00Z",  # a 15-minute cadence is due on every tick
    "id": "tick-1",
}
MODELS = [f"every15-{i}" for i in range(12)]  # more than one SendMessageBatch


def onboard_all(harness: Harness) -> None:
    for name in MODELS:
        harness.onboard(model_config(name, retrain_every_minutes=15))


def queued(harness: Harness) -> list[dict[str, Any]]:
    sqs = harness.stack.client("sqs")
    url = harness.stack.queue_url("TriggerQueue")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    return messages


def test_a_tick_queues_one_delayed_retrain_per_due_model_and_starts_nothing_itself(harness: Harness) -> None:
    onboard_all(harness)

    assert harness.trigger(TICK) == {"batchItemFailures": []}

    assert harness.executions() == []
    attributes = harness.stack.client("sqs").get_queue_attributes(
        QueueUrl=harness.stack.queue_url("TriggerQueue"),
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    delayed_or_visible = int(attributes["ApproximateNumberOfMessagesDelayed"]) + len(queued(harness))
    assert delayed_or_visible == len(MODELS)


def test_the_queued_retrains_start_one_scheduled_run_per_model(harness: Harness) -> None:
    onboard_all(harness)
    harness.deps.settings = harness.deps.settings._replace(
        schedule_spread_seconds=0
    )  # no delay: read them back at once

    harness.trigger(TICK)
    bodies = [m["Body"] for m in queued(harness)]
    assert sorted(json.loads(b)["detail"]["model"] for b in bodies) == sorted(MODELS)

    assert harness.trigger(*bodies[:10]) == {"batchItemFailures": []}
    assert harness.trigger(*bodies[10:], *bodies[:3]) == {"batchItemFailures": []}  # with redeliveries
    started = {e["name"] for e in harness.executions()}
    assert len(started) == len(MODELS)
    assert {harness.run(r).trigger for r in started} == {TriggerKind.SCHEDULE}


def test_the_spread_is_deterministic_per_model_and_within_the_window() -> None:
    requests = [
        RunRequest(stage="test", model=m, trigger=TriggerKind.SCHEDULE, intent=f"schedule|{slot}")
        for m in MODELS
        for slot in range(10)
    ]
    delays = {r.run_id: spread_delay(r, 600) for r in requests}
    assert all(0 <= d <= 600 for d in delays.values())
    assert delays == {r.run_id: spread_delay(r, 600) for r in requests}  # a redelivered tick: same delays
    per_model = {m: {delays[r.run_id] for r in requests if r.model == m} for m in MODELS}
    assert all(len(offsets) == 1 for offsets in per_model.values())  # one offset per model, every slot
    assert len({offsets.pop() for offsets in per_model.values()}) > len(MODELS) // 2  # spread, not bunched
    assert {spread_delay(r, 0) for r in requests} == {0}
