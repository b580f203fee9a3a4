"""Lambda tasks run Seam's handlers in-process. moto's Step Functions interpreter invokes a Lambda task
through `lambda.invoke`, which moto would run in Docker; here the registered handler runs with a
Lambda-shaped context. An exception becomes a function error whose errorType is the exception's class
name, as the Python runtime reports it, so the ASL's Retry/Catch see Seam's error names.

moto member: `moto.awslambda.models.LambdaFunction.invoke` (replaced). moto's public options run a
function in Docker (`{"lambda": {"use_docker": True}}`) or answer with canned results
(`/moto-api/static/lambda-simple/response`); neither runs a handler on the event it is given.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction

from seam_local.moto_hooks.patching import Hook, Patch

Handler = Callable[[dict[str, Any], Any], Any]


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


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    runtime = HOOK.target
    if runtime is None:
        return INVOKE.original(self, body, request_headers, response_headers)  # type: ignore[no-any-return]
    event = json.loads(body) if body else {}
    payload, errored = runtime.invoke(self, event)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload


INVOKE = Patch(
    LambdaFunction, "invoke", _invoke, params=("self", "body", "request_headers", "response_headers")
)
HOOK: Hook[LambdaRuntime] = Hook([INVOKE])
check = HOOK.check
