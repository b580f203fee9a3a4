"""Event sources the emulator lacks: Lambda's SQS event source mappings and EventBridge Scheduler ticks.

`SqsPoller` does what Lambda's poller does for an `AWS::Lambda::EventSourceMapping`: long-poll the
queue, gather up to BatchSize messages within MaximumBatchingWindowInSeconds, invoke the function
synchronously with the SQS event, then delete what succeeded. With ReportBatchItemFailures only the
records named in `batchItemFailures` stay (an unknown or empty identifier fails the whole batch); a
function error leaves the whole batch. What stays comes back after the queue's visibility timeout, and
the queue's RedrivePolicy moves it to the dead-letter queue after maxReceiveCount receives. One poller
per mapping: batches of a queue are handled in order (ScalingConfig.MaximumConcurrency is an upper
bound; one is within it).

`ScheduleTicker` runs an `AWS::Scheduler::Schedule` with a rate() expression: the first tick one period
after start, `speed` times faster than real time; `<aws.scheduler.scheduled-time>` advances in schedule
time (so a 60-minute cadence falls due every 60/speed minutes). SQS targets get the Input as the message
body, Lambda targets are invoked asynchronously with it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from seam_local.console import Log, silent

Invoke = Callable[[str, dict[str, Any]], Any]  # (function name, event) -> response; FunctionError on error


class FunctionError(Exception):
    """The invoked function failed (Lambda's X-Amz-Function-Error)."""


@dataclass(frozen=True)
class EventSourceMapping:
    function_name: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    report_batch_item_failures: bool = False


class Worker(ABC):
    """A daemon thread running `step` until stopped; errors are logged, never fatal."""

    name = "worker"

    def __init__(self, log: Log) -> None:
        self.log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:
                if not self._stop.is_set():
                    self.log("error", f"{self.name}: {exc!r}")
                    self._stop.wait(0.5)

    @abstractmethod
    def step(self) -> None:
        """One unit of work (a receive, a tick); the loop repeats it until stopped."""


class SqsPoller(Worker):
    def __init__(
        self,
        mapping: EventSourceMapping,
        sqs: Any,
        invoke: Invoke,
        *,
        region: str = "us-east-1",
        wait_seconds: int = 1,
        log: Log = silent,
    ) -> None:
        super().__init__(log)
        self.mapping, self.sqs, self.invoke = mapping, sqs, invoke
        self.region, self.wait_seconds = region, wait_seconds
        self.name = f"esm-{mapping.function_name}"

    def step(self) -> None:
        self.poll_once()

    def poll_once(self) -> int:
        """Receive one batch and hand it to the function; the number of messages received."""
        messages = self._receive()
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        for record in event["Records"]:
            self.log("event", f"{_describe(record['body'])} -> {self.mapping.function_name}")
        try:
            response = self.invoke(self.mapping.function_name, event)
        except FunctionError as exc:
            self.log("error", f"{self.mapping.function_name} failed; {len(messages)} message(s) stay: {exc}")
            return len(messages)
        failed = self._failed_ids(response, {m["MessageId"] for m in messages})
        done = [m for m in messages if m["MessageId"] not in failed]
        if failed:
            self.log("lambda", f"{self.mapping.function_name}: {len(failed)} record(s) reported failed, kept")
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.mapping.queue_url, Entries=entries)
        return len(messages)

    def _receive(self) -> list[dict[str, Any]]:
        wanted = max(1, self.mapping.batch_size)
        messages: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(messages) < wanted and not self._stop.is_set():
            wait = self.wait_seconds if deadline is None else max(0.0, deadline - time.monotonic())
            received = self.sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(10, wanted - len(messages)),
                WaitTimeSeconds=min(20, math.ceil(wait)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if deadline is None:
                if not messages:
                    break
                deadline = time.monotonic() + self.mapping.batching_window_seconds
            if time.monotonic() >= deadline:
                break
        return messages

    def _failed_ids(self, response: Any, ids: set[str]) -> set[str]:
        if not self.mapping.report_batch_item_failures or not isinstance(response, dict):
            return set()
        failures = response.get("batchItemFailures") or []
        named = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
        if any(not i or i not in ids for i in named):
            return ids  # Lambda treats a malformed batchItemFailures response as a failed batch
        return named  # type: ignore[return-value]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.queue_arn,
            "awsRegion": self.region,
        }


def _describe(body: str) -> str:
    """`source detail-type (what)` of an event body, for the log."""
    try:
        event = json.loads(body)
    except ValueError:
        return f"message {body[:60]!r}"
    if not isinstance(event, dict):
        return f"message {body[:60]!r}"
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    what = (
        (detail.get("object") or {}).get("key")
        or detail.get("alarmName")
        or (
            f"{detail.get('TrainingJobName')} {detail.get('TrainingJobStatus')}"
            if detail.get("TrainingJobName")
            else None
        )
        or detail.get("model")
        or event.get("time")
        or ""
    )
    return f"{event.get('source')} {event.get('detail-type')} {what}".strip()


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between ticks of a rate() expression; None for cron() and at()."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]


@dataclass(frozen=True)
class Schedule:
    name: str
    arn: str
    period_seconds: float
    target_arn: str
    input: str | None = None


class ScheduleTicker(Worker):
    def __init__(
        self,
        schedule: Schedule,
        deliver: Callable[[str, str], None],
        *,
        speed: float = 1.0,
        log: Log = silent,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(log)
        self.schedule, self.deliver, self.speed = schedule, deliver, speed
        self.name = f"schedule-{schedule.name}"
        self.started = clock()
        self.ticks = 0

    @property
    def interval(self) -> float:
        return self.schedule.period_seconds / self.speed

    def step(self) -> None:
        if self._stop.wait(self.interval):
            return
        self.tick()

    def tick(self) -> str:
        """Deliver the next tick now; returns the body sent."""
        self.ticks += 1
        scheduled = self.started + timedelta(seconds=self.schedule.period_seconds * self.ticks)
        body = (self.schedule.input or "{}").replace(
            "<aws.scheduler.scheduled-time>", scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        body = body.replace("<aws.scheduler.execution-id>", str(uuid.uuid4()))
        body = body.replace("<aws.scheduler.schedule-arn>", self.schedule.arn)
        body = body.replace("<aws.scheduler.attempt-number>", "1")
        self.log("schedule", f"{self.schedule.name} tick {self.ticks} (scheduled {scheduled:%H:%M:%S})")
        self.deliver(self.schedule.target_arn, body)
        return body
