"""Seam's two hooks into moto, pinned to the moto version they were written against.

1. Lambda: moto's Step Functions interpreter (`execute_state_machine`) invokes Lambda tasks through
   `lambda.invoke`, which moto would run in Docker. `install_lambda_runtime` replaces
   `LambdaFunction.invoke` so the real handler runs in-process, with a Lambda-shaped context; an
   exception becomes a function error whose errorType is the exception's class name, exactly as the
   Python runtime reports it, so the ASL's Retry/Catch see Seam's error names.
2. SendTaskFailure: moto 5.2.5's response handler drops the `cause` parameter; the patch passes it on,
   as Step Functions does (the run's recorded cause depends on it).
3. SageMaker: moto marks a training job Completed the moment it is created. `set_training_job` moves
   a job to the status, metrics and failure reason a test (or the local SageMaker) decides, and returns
   the "SageMaker Training Job State Change" event SageMaker would emit.

The local runtime (seam_local.runtime) adds, each installed only while it runs:

4. Training jobs: `install_training_runner` keeps the request's MetricDefinitions (moto overwrites them),
   refuses a duplicate job name (ResourceInUse, as SageMaker does; moto would replace the job), leaves
   the job InProgress and hands it to a runner (seam_local.sagemaker); StopTrainingJob, which moto lacks,
   goes to the same runner (`install_training_stop`; without a runner, as in the tests, the job is
   Stopped at once; a job that is not InProgress is refused with SageMaker's ValidationException).
5. Events as AWS delivers them (`install_event_sources`): moto's default target input drops the envelope's
   `account`; S3's EventBridge events get S3's shape (`etag`, a growing `sequencer`, `reason` PutObject)
   on the default bus only; a CloudWatch alarm that changes state emits "CloudWatch Alarm State Change".
6. EKS: `set_cluster_endpoint` points a moto cluster at the local Kubernetes API and its CA.
7. DynamoDB transactions (`install_transaction_backups`): moto backs a table up (a deep copy) once per
   item of a TransactWriteItems, so a 10-item transaction copied the table 10 times (54 ms of a storm
   batch's ~70 ms). The backups are all taken before the first write, so one copy per table is the
   same rollback state; with the hook installed each table is copied once per transaction.

All touch moto internals; `check_moto_compatibility` fails loudly when moto changes underneath
(tests/workflow/test_moto_hooks.py runs it).
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import moto
import moto.dynamodb.models as dynamodb_models
import moto.s3.notifications as s3_notifications
from moto.awslambda.models import LambdaFunction
from moto.cloudwatch.models import CloudWatchBackend
from moto.core.responses import EmptyResult
from moto.core.utils import unix_time
from moto.dynamodb.models import DynamoDBBackend
from moto.eks.models import Cluster as EksCluster
from moto.eks.models import eks_backends
from moto.events.models import events_backends
from moto.events.utils import EventTemplateParser
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.stepfunctions.responses import StepFunctionResponse

PINNED_MOTO_VERSION = "5.2.5"
_ORIGINAL_INVOKE = LambdaFunction.invoke
_ORIGINAL_SEND_TASK_FAILURE = StepFunctionResponse.send_task_failure
_ORIGINAL_CREATE_TRAINING_JOB = SageMakerModelBackend.create_training_job
_ORIGINAL_SET_ALARM_STATE = CloudWatchBackend.set_alarm_state
_ORIGINAL_S3_EVENTBRIDGE = s3_notifications._send_event_bridge_message
_ORIGINAL_INPUT_TEMPLATE = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
_ORIGINAL_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


def check_moto_compatibility() -> None:
    """Raise with a clear message when moto is not the version these hooks were written against."""
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(
            f"seam_local.moto_hooks targets moto {PINNED_MOTO_VERSION}, found {moto.__version__}: "
            "re-check LambdaFunction.invoke and FakeTrainingJob, then update the pin"
        )
    params = list(inspect.signature(_ORIGINAL_INVOKE).parameters)
    if params != ["self", "body", "request_headers", "response_headers"]:
        raise RuntimeError(f"moto LambdaFunction.invoke signature changed: {params}")
    if '"cause"' in inspect.getsource(_ORIGINAL_SEND_TASK_FAILURE):
        raise RuntimeError("moto now passes SendTaskFailure's cause itself: drop the send_task_failure patch")
    for attribute in ("training_job_status", "secondary_status", "final_metric_data_list", "model_artifacts"):
        if attribute not in inspect.getsource(FakeTrainingJob.__init__):
            raise RuntimeError(f"moto FakeTrainingJob no longer sets {attribute}")
    params = list(inspect.signature(_ORIGINAL_CREATE_TRAINING_JOB).parameters)
    if params[:2] != ["self", "training_job_name"] or "algorithm_specification" not in params:
        raise RuntimeError(f"moto SageMakerModelBackend.create_training_job signature changed: {params}")
    if vars(SageMakerResponse).get("stop_training_job", _stop_training_job) is not _stop_training_job:
        raise RuntimeError("moto now implements StopTrainingJob: drop the stop_training_job patch")
    if '"account"' in _ORIGINAL_INPUT_TEMPLATE:
        raise RuntimeError("moto's default event input now has the account: drop the input template patch")
    params = list(inspect.signature(_ORIGINAL_S3_EVENTBRIDGE).parameters)
    if params != ["account_id", "bucket", "event_name", "key"]:
        raise RuntimeError(f"moto s3 _send_event_bridge_message signature changed: {params}")
    params = list(inspect.signature(_ORIGINAL_SET_ALARM_STATE).parameters)
    if params != ["self", "alarm_name", "reason", "reason_data", "state_value"]:
        raise RuntimeError(f"moto CloudWatchBackend.set_alarm_state signature changed: {params}")
    for attribute in ("self.endpoint", "self.certificate_authority"):
        if attribute not in inspect.getsource(EksCluster.__init__):
            raise RuntimeError(f"moto EKS Cluster no longer sets {attribute}")
    backup = "original_table_state[table_name] = copy.deepcopy("
    source = inspect.getsource(_ORIGINAL_TRANSACT_WRITE_ITEMS)
    if backup not in source or source.index(backup) > source.index("self.put_item("):
        raise RuntimeError("moto's transact_write_items no longer backs tables up before writing")


@dataclass
class LambdaContext:
    """What the Python runtime passes as `context` (the attributes Powertools reads)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    timeout_seconds: int = 30
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = datetime.now(UTC).timestamp() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - datetime.now(UTC).timestamp()) * 1000))


@dataclass
class Invocation:
    function_name: str
    event: Any
    result: Any = None
    error: str | None = None
    seconds: float = 0.0  # the handler's wall time in this process (bench/overhead.py bills it)


class LambdaRuntime:
    """Registered in-process handlers by function name, and a record of every invocation."""

    def __init__(self) -> None:
        self.handlers: dict[str, tuple[Handler, int, int]] = {}
        self.invocations: list[Invocation] = []
        self.listeners: list[Callable[[Invocation], None]] = []
        self._lock = threading.Lock()

    def register(
        self, function_name: str, handler: Handler, memory_mb: int = 256, timeout_s: int = 30
    ) -> None:
        self.handlers[function_name] = (handler, memory_mb, timeout_s)

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[bytes, bool]:
        """Run the handler; (payload, errored) as the Lambda service would return them."""
        if function.function_name not in self.handlers:
            raise KeyError(f"no in-process handler registered for Lambda function {function.function_name!r}")
        handler, memory_mb, timeout_s = self.handlers[function.function_name]
        context = LambdaContext(function.function_name, function.function_arn, memory_mb, timeout_s)
        record = Invocation(function.function_name, event)
        started = time.perf_counter()
        try:
            record.result = handler(event, context)
            record.seconds = time.perf_counter() - started
            payload, errored = json.dumps(record.result).encode(), False
        except Exception as exc:  # the Lambda runtime reports any exception as a function error
            record.seconds = time.perf_counter() - started
            record.error = type(exc).__name__
            payload = json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
            errored = True
        with self._lock:
            self.invocations.append(record)
        for listener in self.listeners:
            listener(record)
        return payload, errored


_active: LambdaRuntime | None = None


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    if _active is None:
        return _ORIGINAL_INVOKE(self, body, request_headers, response_headers)
    event = json.loads(body) if body else {}
    payload, errored = _active.invoke(self, event)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload


def _send_task_failure(self: StepFunctionResponse) -> EmptyResult:
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


@contextmanager
def install_lambda_runtime(runtime: LambdaRuntime) -> Iterator[LambdaRuntime]:
    """Route moto's Lambda invocations to `runtime` for the duration of the block."""
    global _active
    check_moto_compatibility()
    previous, _active = _active, runtime
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    StepFunctionResponse.send_task_failure = _send_task_failure  # type: ignore[method-assign]
    try:
        yield runtime
    finally:
        _active = previous
        if previous is None:
            LambdaFunction.invoke = _ORIGINAL_INVOKE  # type: ignore[method-assign]
            StepFunctionResponse.send_task_failure = _ORIGINAL_SEND_TASK_FAILURE  # type: ignore[method-assign]


def set_training_job(
    name: str,
    status: str,
    *,
    account: str,
    region: str,
    secondary_status: str | None = None,
    metrics: dict[str, float] | None = None,
    failure_reason: str | None = None,
    billable_seconds: int | None = None,
) -> dict[str, Any]:
    """Move a moto training job to `status` and return the state-change event SageMaker would emit."""
    job = sagemaker_backends[account][region].training_jobs[name]
    now = datetime.now(UTC)
    job.training_job_status = status
    job.secondary_status = secondary_status or {"InProgress": "Training", "Stopping": "Stopping"}.get(
        status, status
    )
    job.last_modified_time = now
    job.final_metric_data_list = [
        {"MetricName": k, "Value": float(v), "Timestamp": now} for k, v in (metrics or {}).items()
    ]
    if failure_reason:
        job.failure_reason = failure_reason
    if billable_seconds is not None:
        job.billable_time_in_seconds = billable_seconds
        job.training_time_in_seconds = billable_seconds
    return training_state_change_event(job, account, region)


def training_state_change_event(job: FakeTrainingJob, account: str, region: str) -> dict[str, Any]:
    """The EventBridge event's shape (see events/sagemaker/): the job description without metrics."""
    detail = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "TrainingJobStatus": job.training_job_status,
        "SecondaryStatus": job.secondary_status,
        "HyperParameters": job.hyper_parameters or {},
        "AlgorithmSpecification": {
            k: v for k, v in job.algorithm_specification.items() if k != "MetricDefinitions"
        },
        "RoleArn": job.role_arn,
        "InputDataConfig": job.input_data_config,
        "OutputDataConfig": job.output_data_config,
        "ResourceConfig": job.resource_config,
        "StoppingCondition": job.stopping_condition,
        "CreationTime": int(job.creation_time.timestamp() * 1000)
        if hasattr(job.creation_time, "timestamp")
        else 0,
        "LastModifiedTime": int(datetime.now(UTC).timestamp() * 1000),
        "Tags": {t["Key"]: t["Value"] for t in job.tags or []},
    }
    if getattr(job, "failure_reason", None):
        detail["FailureReason"] = job.failure_reason
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SageMaker Training Job State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [job.arn],
        "detail": detail,
    }


# -- 4. training jobs ---------------------------------------------------------------------------------


class TrainingRunner(Protocol):
    """What runs training jobs (seam_local.sagemaker.LocalSageMaker)."""

    def start(self, job: FakeTrainingJob) -> None: ...

    def stop(self, job: FakeTrainingJob) -> None: ...


_runner: TrainingRunner | None = None


def _create_training_job(
    self: SageMakerModelBackend, training_job_name: str, **kwargs: Any
) -> FakeTrainingJob:
    if training_job_name in self.training_jobs:
        raise ResourceInUseException(f"Training job {training_job_name} already exists")
    requested = copy.deepcopy(kwargs["algorithm_specification"].get("MetricDefinitions") or [])
    job = _ORIGINAL_CREATE_TRAINING_JOB(self, training_job_name, **kwargs)
    if _runner is None:
        return job
    job.algorithm_specification["MetricDefinitions"] = requested
    job.training_job_status, job.secondary_status = "InProgress", "Starting"
    job.final_metric_data_list = []
    job.training_end_time = None
    job.secondary_status_transitions = [
        {"Status": "Starting", "StartTime": job.creation_time, "StatusMessage": "Starting the training job"}
    ]
    _runner.start(job)
    return job


def _stop_training_job(self: SageMakerResponse) -> EmptyResult:
    name = self._get_param("TrainingJobName")
    self.sagemaker_backend.describe_training_job(name)  # ValidationException when there is no such job
    job = self.sagemaker_backend.training_jobs[name]
    if job.training_job_status != "InProgress":
        # SageMaker's answer for a job that ended or is stopping (e.g. awslabs/benchmark-ai#928).
        raise ValidationError(
            f"The request was rejected because the training job is in status {job.training_job_status}."
        )
    if _runner is not None:
        _runner.stop(job)
    else:  # nothing runs it: it stops at once
        job.training_job_status, job.secondary_status = "Stopped", "Stopped"
        job.training_end_time = datetime.now(UTC)
    return EmptyResult()


_stop_installs = 0


@contextmanager
def install_training_stop() -> Iterator[None]:
    """StopTrainingJob, which moto lacks: a running job goes to the runner (`install_training_runner`),
    or without one is Stopped at once; a job that is not InProgress is refused (ValidationException),
    as SageMaker does. Nests: the last one out removes it."""
    global _stop_installs
    check_moto_compatibility()
    _stop_installs += 1
    SageMakerResponse.stop_training_job = _stop_training_job  # type: ignore[attr-defined]
    try:
        yield
    finally:
        _stop_installs -= 1
        if _stop_installs == 0:
            del SageMakerResponse.stop_training_job  # type: ignore[attr-defined]


@contextmanager
def install_training_runner(runner: TrainingRunner) -> Iterator[TrainingRunner]:
    """CreateTrainingJob leaves the job InProgress and calls `runner.start(job)`; StopTrainingJob calls
    `runner.stop(job)`. Both must return at once (the runner works on its own threads)."""
    global _runner
    check_moto_compatibility()
    previous, _runner = _runner, runner
    SageMakerModelBackend.create_training_job = _create_training_job  # type: ignore[method-assign,assignment]
    try:
        with install_training_stop():
            yield runner
    finally:
        _runner = previous
        if previous is None:
            SageMakerModelBackend.create_training_job = _ORIGINAL_CREATE_TRAINING_JOB  # type: ignore[method-assign]


# -- 5. events as AWS delivers them -------------------------------------------------------------------

_S3_REASONS = {"Put": "PutObject", "Post": "POSTObject", "Copy": "CopyObject"}
_sequencer = itertools.count(0x6A1F00000000000000)


def _s3_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    """S3's event to EventBridge: sent to the default bus, with S3's field names."""
    try:
        detail_type = s3_notifications._detail_type(event_name)
        obj: dict[str, Any] = {
            "key": key.name,
            "size": key.size,
            "etag": key.etag.strip('"'),
            "sequencer": f"{next(_sequencer):018X}",  # orders the writes of a key, as S3's does
        }
        if bucket.is_versioned:
            obj["version-id"] = key.version_id
        action = event_name.split(":")[-1]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": account_id,
            "time": unix_time(),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket.name},
                "object": obj,
                "request-id": uuid.uuid4().hex[:16].upper(),
                "requester": account_id,
                "source-ip-address": "127.0.0.1",
                "reason": _S3_REASONS.get(action, action),
            },
        }
        default_bus = events_backends[account_id][bucket.region_name].event_buses["default"]
        for rule in list(default_bus.rules.values()):
            rule.send_to_targets(event, transform_input=False)
    except Exception:  # delivery is asynchronous in AWS: it never fails the S3 request
        log.exception("S3 event for s3://%s/%s was not delivered", bucket.name, key.name)


def _set_alarm_state(
    self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str
) -> None:
    alarm = self.alarms.get(alarm_name)
    before = (
        (alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp)
        if alarm
        else None
    )
    _ORIGINAL_SET_ALARM_STATE(self, alarm_name, reason, reason_data, state_value)
    alarm = self.alarms[alarm_name]
    if before is None or before[0] == alarm.state_value:
        return  # CloudWatch emits an event only when the state changes
    events_backends[self.account_id][self.region_name].put_events([alarm_state_change(alarm, before)])


def alarm_state_change(alarm: Any, before: tuple[str, str, str, datetime]) -> dict[str, Any]:
    """A PutEvents entry with CloudWatch's "CloudWatch Alarm State Change" detail."""

    def state(value: str, reason: str, reason_data: str, at: datetime) -> dict[str, str]:
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
        return {"value": value, "reason": reason, "reasonData": reason_data or "{}", "timestamp": stamp}

    metric: dict[str, Any] = {
        "metric": {
            "namespace": alarm.namespace,
            "name": alarm.metric_name,
            "dimensions": {d.name: d.value for d in alarm.dimensions},
        },
        "period": alarm.period,
        "stat": alarm.statistic,
    }
    detail = {
        "alarmName": alarm.name,
        "state": state(
            alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp
        ),
        "previousState": state(*before),
        "configuration": {
            "description": alarm.description or "",
            "metrics": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),
                    "metricStat": metric,
                    "returnData": True,
                }
            ],
        },
    }
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Detail": json.dumps(detail),
        "Resources": [alarm.alarm_arn],
    }


@contextmanager
def install_event_sources() -> Iterator[None]:
    """While active, events reach EventBridge targets with the shape and envelope AWS uses."""
    check_moto_compatibility()
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _ORIGINAL_INPUT_TEMPLATE.replace(
        '"version": "0",', '"version": "0", "account": "<account>",'
    )
    s3_notifications._send_event_bridge_message = _s3_event_bridge_message
    CloudWatchBackend.set_alarm_state = _set_alarm_state  # type: ignore[method-assign]
    try:
        yield
    finally:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _ORIGINAL_INPUT_TEMPLATE
        s3_notifications._send_event_bridge_message = _ORIGINAL_S3_EVENTBRIDGE
        CloudWatchBackend.set_alarm_state = _ORIGINAL_SET_ALARM_STATE  # type: ignore[method-assign]


# -- 6. EKS -------------------------------------------------------------------------------------------


def set_cluster_endpoint(name: str, endpoint: str, ca_data: str, *, account: str, region: str) -> None:
    """Point moto's cluster record at a real API server, so DescribeCluster answers with it."""
    cluster = eks_backends[account][region].clusters[name]
    cluster.endpoint = endpoint
    cluster.certificate_authority = {"data": ca_data}


class _OneCopyPerTable:
    """Stands in for the `copy` module inside moto.dynamodb.models: while a transaction runs on this
    thread, a second deep copy of the same table returns the first (nothing was written between them)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        copies = getattr(self._local, "copies", None)
        if copies is None or memo is not None:
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = (value, copy.deepcopy(value))  # holds `value`, so its id stays unique
        return copies[id(value)][1]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._local.copies = {}
        try:
            yield
        finally:
            self._local.copies = None


_one_copy_per_table = _OneCopyPerTable()


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    with _one_copy_per_table.transaction():
        return _ORIGINAL_TRANSACT_WRITE_ITEMS(self, transact_items)


_transaction_backup_blocks = 0  # nested installs (a runtime inside a test harness) restore once, at the end


@contextmanager
def install_transaction_backups() -> Iterator[None]:
    """Back each table up once per TransactWriteItems, not once per item (see the module docstring)."""
    global _transaction_backup_blocks
    check_moto_compatibility()
    if _transaction_backup_blocks == 0:
        dynamodb_models.copy = _one_copy_per_table  # type: ignore[assignment]
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _transaction_backup_blocks += 1
    try:
        yield
    finally:
        _transaction_backup_blocks -= 1
        if _transaction_backup_blocks == 0:
            DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT_WRITE_ITEMS  # type: ignore[method-assign]
            dynamodb_models.copy = copy  # type: ignore[assignment]
