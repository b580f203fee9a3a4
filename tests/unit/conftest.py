"""Fixtures of the unit tests: fake AWS credentials, moto, and Seam's resources built from template.yaml.

Resources come from `seam_local.stack.EmulatedStack` (tables with their key schemas and GSIs, the data
bucket, the event bus, the state machine), created piecemeal so a test pays only for what it uses.
Every test starts and ends with Seam's caches reset (`seam.reset()`: clients, settings, dependencies...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
import seam
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from seam.adapters.aws import add_client_hook, client
from seam.dependencies import Dependencies, dependencies
from seam.models.model_config import ModelConfig
from seam_local.moto_hooks import install_training_stop, set_training_job
from seam_local.stack import EmulatedStack
from seam_local.template import StackTemplate

from tests import model_configs

ACCOUNT = "123456789012"
REGION = "us-east-1"
IMAGE = model_configs.IMAGE


def model_config(name: str = "churn", **overrides: Any) -> ModelConfig:
    """A valid config; `overrides` replace top-level fields (nested ones are replaced whole)."""
    columns = [{"name": "tenure", "dtype": "number"}, {"name": "plan", "dtype": "string"}]
    return model_configs.model_config(name, IMAGE, {"min_rows": 3, "columns": columns}, {}, **overrides)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tables(*logical_ids): the template tables a unit test module uses")


def running_job(deps: Dependencies, run_id: str) -> None:
    """The run's task token stored and its training job InProgress, as LaunchTraining leaves them."""
    deps.tokens.put(run_id, f"token-{run_id}", run_id)
    deps.training.create(
        {
            "TrainingJobName": run_id,
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/seam-unit-SageMakerTrainingRole",
            "OutputDataConfig": {"S3OutputPath": f"s3://seam-unit-databucket-{ACCOUNT}/models/"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        }
    )
    set_training_job(run_id, "InProgress", account=ACCOUNT, region=REGION)


@pytest.fixture(scope="package", autouse=True)
def _shared_botocore_data() -> Iterator[None]:
    """`seam.adapters.aws.client()` builds each client from a new botocore session, and each session
    reads botocore's endpoint and service JSON again (~0.1 s a client). The data is read-only: sharing one
    loader between sessions keeps the tests fast without changing what any client does. Package scope:
    undone when tests/unit is done."""
    original = botocore.session.create_loader
    loaders: dict[Any, Any] = {}

    def shared(search_path_string: Any = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared
    yield
    botocore.session.create_loader = original


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    seam.reset()
    yield
    seam.reset()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region; nothing may point boto3 at a real endpoint or profile."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def stack_template() -> StackTemplate:
    return StackTemplate(stage="unit", account=ACCOUNT, region=REGION)


@pytest.fixture
def stack(
    aws_env: None, stack_template: StackTemplate, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatedStack]:
    """moto active (with StopTrainingJob, which moto lacks) and the stack's SEAM_* environment set; no
    resources yet."""
    with mock_aws(), install_training_stop():
        emulated = EmulatedStack(stack_template)
        # Build resources with the clients the code under test uses (one per service, not one per call).
        emulated.client = client  # type: ignore[method-assign]
        for key, value in emulated.environment.items():
            monkeypatch.setenv(key, value)
        seam.reset()
        yield emulated


@pytest.fixture
def tables(stack: EmulatedStack, request: pytest.FixtureRequest) -> EmulatedStack:
    """The template's DynamoDB tables; a module marked `pytest.mark.tables("RunsTable", ...)` gets only
    those (each table costs several moto calls per test), others get every table."""
    marker = request.node.get_closest_marker("tables")
    stack.create_tables(*(marker.args if marker else ()))
    return stack


@pytest.fixture
def deps(tables: EmulatedStack) -> Dependencies:
    return dependencies()


@pytest.fixture
def bucket(stack: EmulatedStack) -> str:
    stack.create_buckets()
    return stack.name("DataBucket")


@pytest.fixture
def state_machine(stack: EmulatedStack) -> str:
    stack.create_state_machine()
    return stack.state_machine_arn


@pytest.fixture
def event_bus(stack: EmulatedStack) -> str:
    stack.create_event_buses()
    return stack.name("SeamEventBus")


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional single-item write atomically; moto checks the condition and then
    writes without a lock. Serialising moto's writes restores DynamoDB's guarantee for threaded tests
    (the code under test still races: only each write is atomic, as in DynamoDB)."""
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


@dataclass
class _Fault:
    event: str
    code: str
    status: int
    message: str
    times: int | None
    raises: Exception | None = None
    response: dict[str, Any] | None = None
    fired: int = 0


@dataclass
class Faults:
    """Answers chosen AWS calls before they reach moto (a botocore `before-call` hook on every client
    `seam.adapters.aws.client()` creates) with an error, an exception or a given response, and records
    every call with the parameters the code passed."""

    faults: list[_Fault] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    params: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def fail(
        self,
        service: str,
        operation: str,
        code: str = "",
        status: int = 400,
        message: str = "injected",
        times: int | None = None,
        raises: Exception | None = None,
    ) -> None:
        self.faults.append(_Fault(f"{service}.{operation}", code, status, message, times, raises))

    def respond(
        self, service: str, operation: str, response: dict[str, Any], times: int | None = None
    ) -> None:
        self.faults.append(_Fault(f"{service}.{operation}", "", 200, "", times, response=response))

    def count(self, service: str, operation: str) -> int:
        return self.calls.count(f"{service}.{operation}")

    def sent(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [p for name, p in self.params if name == f"{service}.{operation}"]

    def _record(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        self.params.append((event_name.removeprefix("provide-client-params."), dict(params)))

    def _handler(self, event_name: str, **_: Any) -> Any:
        name = event_name.removeprefix("before-call.")
        self.calls.append(name)
        for fault in self.faults:
            if fault.event != name or (fault.times is not None and fault.fired >= fault.times):
                continue
            fault.fired += 1
            if fault.raises is not None:
                raise fault.raises
            if fault.response is not None:
                return _HttpResponse(200, b"{}"), {
                    **fault.response,
                    "ResponseMetadata": {"HTTPStatusCode": 200},
                }
            body = {"Error": {"Code": fault.code, "Message": fault.message}}
            return _HttpResponse(fault.status, json.dumps(body).encode()), {
                **body,
                "ResponseMetadata": {"HTTPStatusCode": fault.status},
            }
        return None

    def install(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.*.*", self._record)
        client.meta.events.register("before-call.*.*", self._handler)


@dataclass
class _HttpResponse:
    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def faults(stack: EmulatedStack) -> Faults:
    recorder = Faults()
    add_client_hook(recorder.install)
    return recorder


@dataclass
class RecordingWorkflow:
    """A Workflow stand-in recording every settlement; `answer`/`raises` decide what SendTask* does."""

    answer: bool = True
    raises: list[Exception] = field(default_factory=list)
    sent: list[tuple[str, str, Any]] = field(default_factory=list)

    def _send(self, kind: str, token: str, payload: Any) -> bool:
        if self.raises:
            raise self.raises.pop(0)
        self.sent.append((kind, token, payload))
        return self.answer

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._send("success", token, output)

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._send("failure", token, (error, cause))

    def heartbeat(self, token: str) -> bool:
        return self._send("heartbeat", token, None)


@dataclass
class RecordingPublisher:
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.published.append((detail_type, json.loads(json.dumps(detail, default=str))))
