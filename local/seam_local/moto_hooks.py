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

Both touch moto internals; `check_moto_compatibility` fails loudly when moto changes underneath
(tests/workflow/test_moto_hooks.py runs it).
"""

from __future__ import annotations

import inspect
import json
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction
from moto.core.responses import EmptyResult
from moto.sagemaker.models import FakeTrainingJob, sagemaker_backends
from moto.stepfunctions.responses import StepFunctionResponse

PINNED_MOTO_VERSION = "5.2.5"
_ORIGINAL_INVOKE = LambdaFunction.invoke
_ORIGINAL_SEND_TASK_FAILURE = StepFunctionResponse.send_task_failure

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
        try:
            record.result = handler(event, context)
            payload, errored = json.dumps(record.result).encode(), False
        except Exception as exc:  # the Lambda runtime reports any exception as a function error
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
