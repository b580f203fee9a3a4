"""Fixtures of the reliability scenarios, on top of the executed-workflow harness (tests/workflow).

- `harness` / `logs`: the workflow harness fixtures themselves (imported, not copied).
- `faults`: a FaultInjector on every Seam AWS client, whose calls know their function, run and (in
  the SQS functions) message.
- `fast_retries`: the deployed state machine with every Retry shrunk to 1 s intervals (backoff 1.0,
  jitter as in the ASL), through UpdateStateMachine on the loaded definition - the ASL file is not
  touched and MaxAttempts (the retry budget the scenarios exercise) is unchanged.
- `event_source`: Lambda's SQS event source mapping, driven by the test over the real (moto) queues
  built from template.yaml, RedrivePolicy included.
- `atomic_dynamodb`: single-item DynamoDB writes serialized, as DynamoDB guarantees (moto checks a
  condition and writes without a lock, so two threads can both pass a condition).
- `unique_training_jobs`: CreateTrainingJob refuses a name that exists (ResourceInUse), as SageMaker
  does; moto would replace the job - and with it the status and metrics the scenario gave it.
- `warm_caches` (autouse): botocore's service models and template.yaml parsed once per process rather
  than per client and per stack (clients, their config and hooks are unchanged).
- `figure`: the scenario's row in the `make reliability` table (scenario, injected, expected, observed).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from seam_local.stack import handler_module_name

from tests.reliability.faults import FaultInjector, injector, tracked_records
from tests.workflow.conftest import harness, logs  # noqa: F401  (the workflow harness fixtures, reused)
from tests.workflow.harness import Harness

_CLIENTS: dict[tuple[int, str], tuple[Any, Any]] = {}


def stack_client(harness: Harness, service: str) -> Any:  # noqa: F811
    """One inspection client per test stack and service (`stack.client` builds a new one per call)."""
    key = (id(harness.stack), service)
    if key not in _CLIENTS or _CLIENTS[key][0] is not harness.stack:
        _CLIENTS[key] = (harness.stack, harness.stack.client(service))
    return _CLIENTS[key][1]


RETRY_INTERVAL_SECONDS = (
    1  # ASL minimum; the ASL's own intervals are 2 s (5 s for Lambda.Unknown), x2 backoff
)


def _trigger_module() -> Any:
    return sys.modules.get(handler_module_name("trigger"))


class _UniquePaths(list):  # type: ignore[type-arg]
    """boto3 appends its data path to the loader of every Session it makes: once is enough here."""

    def append(self, item: Any) -> None:
        if item not in self:
            super().append(item)


_SHARED: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def warm_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Static files parsed once per process instead of once per client or stack (CPU is this suite's
    budget): botocore's service models (every new botocore Session - Seam's `client()`, the harness's
    inspection clients, moto's Step Functions interpreter - would re-read them) and template.yaml."""
    import botocore.loaders
    import botocore.session
    import seam_local.template

    if not _SHARED:
        loader = botocore.loaders.create_loader()
        loader._search_paths = _UniquePaths(loader.search_paths)
        _SHARED["loader"] = loader
        _SHARED["template"] = seam_local.template.load_template()
    original_loader = botocore.session.create_loader
    original_template = seam_local.template.load_template

    def create_loader(search_path_string: str | None = None) -> Any:
        return _SHARED["loader"] if search_path_string is None else original_loader(search_path_string)

    def load_template(path: Any = seam_local.template.TEMPLATE_PATH) -> dict[str, Any]:
        if path != seam_local.template.TEMPLATE_PATH:
            return original_template(path)
        return copy.deepcopy(_SHARED["template"])

    monkeypatch.setattr(botocore.session, "create_loader", create_loader)
    monkeypatch.setattr(seam_local.template, "load_template", load_template)


@pytest.fixture
def faults(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:  # noqa: F811
    for function_dir in ("trigger", "training_callback"):
        module = sys.modules[handler_module_name(function_dir)]  # loaded by the harness's stack
        monkeypatch.setattr(module, "handle_record", tracked_records(module.handle_record))
    with injector(harness.stack) as installed:
        yield installed
        installed.disarm()


def shrink_retries(definition: dict[str, Any], interval: int = RETRY_INTERVAL_SECONDS) -> dict[str, Any]:
    """Every Retry waits `interval` seconds (before jitter) between attempts; MaxAttempts unchanged."""
    for state in definition["States"].values():
        for retrier in state.get("Retry", []):
            retrier["IntervalSeconds"] = interval
            retrier["BackoffRate"] = 1.0
            retrier["MaxDelaySeconds"] = interval
    return definition


@pytest.fixture
def fast_retries(harness: Harness) -> dict[str, Any]:  # noqa: F811
    _, text = harness.stack.template.state_machine()
    definition = shrink_retries(json.loads(text))
    harness.stack.client("stepfunctions").update_state_machine(
        stateMachineArn=harness.stack.state_machine_arn, definition=json.dumps(definition)
    )
    return definition


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def serialized(*args: Any, __original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, functools.wraps(original)(serialized))


@pytest.fixture
def unique_training_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sagemaker.exceptions import ResourceInUseException
    from moto.sagemaker.models import SageMakerModelBackend

    original = SageMakerModelBackend.create_training_job

    def create(self: Any, training_job_name: str, **kwargs: Any) -> Any:
        if training_job_name in self.training_jobs:
            raise ResourceInUseException(f"Training job {training_job_name} already exists")
        return original(self, training_job_name, **kwargs)

    monkeypatch.setattr(SageMakerModelBackend, "create_training_job", create)


# -- SQS event source mapping ---------------------------------------------------------------------


@dataclass
class EventSource:
    """What Lambda's SQS poller does, step by step: receive a batch, invoke the function, delete the
    records that succeeded and leave the failures. Left messages come back after the visibility timeout
    (given per receive; 0 = at once) and SQS moves them to the DLQ after the template's maxReceiveCount."""

    harness: Harness
    queue: str  # logical ids in template.yaml
    function: str
    dead_letter_queue: str
    batch_size: int = 10
    visibility_timeout: int = 0
    receives: Counter[str] = field(default_factory=Counter)  # message id -> times received
    invocations: int = 0
    crashed_invocations: int = 0  # the whole batch failed (the function raised)
    failed_records: int = 0

    @functools.cached_property
    def sqs(self) -> Any:
        return stack_client(self.harness, "sqs")

    @functools.cached_property
    def url(self) -> str:
        return self.harness.stack.queue_url(self.queue)

    @functools.cached_property
    def dlq_url(self) -> str:
        return self.harness.stack.queue_url(self.dead_letter_queue)

    @functools.cached_property
    def arn(self) -> str:
        return self.harness.stack.template.arn(self.queue)

    @property
    def max_receive_count(self) -> int:
        policy = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"])
        return int(json.loads(policy["Attributes"]["RedrivePolicy"])["maxReceiveCount"])

    def send(self, *bodies: dict[str, Any] | str) -> list[str]:
        ids = []
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            ids.append(self.sqs.send_message(QueueUrl=self.url, MessageBody=text)["MessageId"])
        return ids

    def poll(self) -> int:
        """One receive + invoke; the number of messages received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=self.visibility_timeout,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        for message in messages:
            self.receives[message["MessageId"]] += 1
        self.invocations += 1
        try:
            result = self.harness.stack.invoke(self.function, self._event(messages))
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except RuntimeError:  # the invocation failed: the whole batch returns to the queue
            self.crashed_invocations += 1
            failed = {m["MessageId"] for m in messages}
        self.failed_records += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for message in done:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def drain(self, timeout: float = 30.0) -> None:
        """Poll until the queue holds nothing, visible or in flight (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll() == 0 and self.pending() == 0:
                return
            if self.pending() and not self._visible():
                time.sleep(0.05)
        raise AssertionError(f"{self.queue} not drained after {timeout} s ({self.pending()} messages left)")

    def pending(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def _visible(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """Everything in the dead-letter queue (received with visibility 0: left in place)."""
        messages: dict[str, dict[str, Any]] = {}
        for _ in range(20):
            batch = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            new = [m for m in batch if m["MessageId"] not in messages]
            if not new:
                break
            messages.update({m["MessageId"]: m for m in new})
        return list(messages.values())

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {
                        k: str(v)
                        for k, v in m.get("Attributes", {}).items()
                        if k
                        in (
                            "ApproximateReceiveCount",
                            "SentTimestamp",
                            "SenderId",
                            "ApproximateFirstReceiveTimestamp",
                        )
                    },
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }


@pytest.fixture
def event_source(harness: Harness) -> Callable[..., EventSource]:  # noqa: F811
    def make(kind: str = "trigger", **kwargs: Any) -> EventSource:
        queue, function, dlq = {
            "trigger": ("TriggerQueue", "TriggerFunction", "TriggerDeadLetterQueue"),
            "callback": ("CallbackQueue", "TrainingCallbackFunction", "CallbackDeadLetterQueue"),
        }[kind]
        return EventSource(harness, queue, function, dlq, **kwargs)

    return make


def function_timeout(harness: Harness, logical_id: str, seconds: float) -> None:  # noqa: F811
    """Change the timeout the in-process Lambda context reports (`context.get_remaining_time_in_millis`)."""
    name = harness.stack.functions[logical_id].name
    handler, memory_mb, _ = harness.stack.runtime.handlers[name]
    harness.stack.runtime.handlers[name] = (handler, memory_mb, seconds)  # type: ignore[assignment]


# -- the report's row -------------------------------------------------------------------------------


@dataclass
class Figure:
    scenario: str
    injected: str = ""
    expected: str = ""
    observed: str = ""
    rows: list[Figure] = field(default_factory=list)  # a test that reports several rows

    def row(self, scenario: str) -> Figure:
        child = Figure(scenario)
        self.rows.append(child)
        return child

    def as_dicts(self) -> list[dict[str, str]]:
        rows = self.rows or [self]
        return [{k: getattr(r, k) for k in ("scenario", "injected", "expected", "observed")} for r in rows]


@pytest.fixture
def figure(request: pytest.FixtureRequest, record_property: Callable[[str, Any], None]) -> Iterator[Figure]:
    row = Figure(scenario=request.node.name)
    yield row
    record_property("reliability", row.as_dicts())


def poll_until(check: Callable[[], Any], timeout: float, message: str, interval: float = 0.02) -> Any:
    """Bounded poll: the first truthy value of `check()`, or AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message)


@contextlib.contextmanager
def racing(threads: int) -> Iterator[Callable[[Callable[[], Any]], None]]:
    """Run callables in `threads` threads released together by a barrier; re-raise their errors."""
    barrier = threading.Barrier(threads)
    workers: list[threading.Thread] = []
    errors: list[BaseException] = []

    def spawn(work: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                barrier.wait(timeout=10)
                work()
            except BaseException as exc:
                errors.append(exc)

        workers.append(threading.Thread(target=run, daemon=True))

    yield spawn
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    if errors:
        raise errors[0]
