"""Fault injection for the reliability scenarios: AWS calls (botocore event hooks) and the Kubernetes API
(an httpx2 transport wrapper for `EksServing(transport=...)`).

AWS faults are registered on every boto3 client Seam creates, through `seam.adapters.aws.add_client_hook`
(the test's own inspection clients are not Seam's and are never faulted). A fault is aimed at a call
site - botocore service name + operation, optionally narrowed to the Lambda function making the call
(its logical id in template.yaml), to one run, or by a predicate on the call's API parameters - and fires
once, N times, or always. Three layers:

- ``Layer.CALL`` (``before-call.<service>.<Operation>``): the request is never sent and the caller gets
  the error at once - a fault that outlived botocore's own (standard mode) retries, so Seam's recovery
  (the state's Retry, SQS redelivery) has to deal with it.
- ``Layer.SEND`` (``before-send.<service>.<Operation>``): the request is not applied and botocore's retry
  loop sees the error (a throttle, 5xx or connection error there is normally absorbed by the SDK).
- ``Layer.LOST`` (``before-send``): the request *is applied* (moto processes it) and then the response is
  lost (ReadTimeoutError); botocore retries, so the retry meets the effect of the first attempt - what
  a read timeout or a DynamoDB 500 ("may or may not have succeeded") really is.
- ``Layer.LOST_AFTER`` (``after-call``): applied, and the ReadTimeoutError reaches Seam's code (the SDK's
  retries were exhausted after the first attempt had taken effect).

Which function and run a call belongs to comes from `track_invocations`, which wraps the stack's
in-process handlers so each invocation records (function, run id) in a thread-local: Step Functions
runs every execution in its own thread and a handler's boto3 calls are synchronous in it. The SQS
functions' per-record handlers are wrapped too (`tracked_records`), so a fault can be aimed at one
message of a batch.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

import httpx2
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from seam.adapters.aws import add_client_hook

# -- which invocation a call belongs to -------------------------------------------------------------

_invocation = threading.local()


def current_function() -> str | None:
    return getattr(_invocation, "function", None)


def current_run_id() -> str | None:
    return getattr(_invocation, "run_id", None)


def current_message_id() -> str | None:
    return getattr(_invocation, "message_id", None)


def run_id_of(event: Any) -> str | None:
    """The run a workflow state's input belongs to (LaunchTraining wraps the state in "state")."""
    if not isinstance(event, dict):
        return None
    if isinstance(event.get("run_id"), str):
        return event["run_id"]
    state = event.get("state")
    return state.get("run_id") if isinstance(state, dict) and isinstance(state.get("run_id"), str) else None


def track_invocations(stack: Any) -> None:
    """Wrap every in-process handler of `stack` so its calls know their function and run."""
    for logical_id, spec in stack.functions.items():
        handler, memory_mb, timeout_s = stack.runtime.handlers[spec.name]
        if getattr(handler, "__seam_tracked__", False):
            continue
        stack.runtime.handlers[spec.name] = (tracked(logical_id, handler), memory_mb, timeout_s)


def tracked(logical_id: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def run(event: Any, context: Any) -> Any:
        previous = (current_function(), current_run_id())
        _invocation.function, _invocation.run_id = logical_id, run_id_of(event)
        try:
            return handler(event, context)
        finally:
            _invocation.function, _invocation.run_id = previous

    run.__seam_tracked__ = True  # type: ignore[attr-defined]
    return run


def tracked_records(handle_record: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap an SQS function's per-record handler so calls know the SQS message they serve."""

    def run(record: Any) -> Any:
        previous = current_message_id()
        _invocation.message_id = record.message_id
        try:
            return handle_record(record)
        finally:
            _invocation.message_id = previous

    return run


# -- AWS faults ---------------------------------------------------------------------------------------


class FaultKind(StrEnum):
    THROTTLING = "ThrottlingException"
    PROVISIONED_THROUGHPUT = "ProvisionedThroughputExceededException"
    INTERNAL_ERROR = "InternalServerError"  # HTTP 500
    READ_TIMEOUT = "ReadTimeoutError"
    CONNECTION_ERROR = "EndpointConnectionError"
    CRASH = "InjectedCrash"  # not an AWS error: a bug in the handler (RuntimeError), CALL layer only


ALL_KINDS = tuple(k for k in FaultKind if k is not FaultKind.CRASH)


class InjectedCrash(RuntimeError):
    """What a handler bug looks like to the Lambda runtime: an exception nobody expected."""


_HTTP_STATUS = {
    FaultKind.THROTTLING: 400,
    FaultKind.PROVISIONED_THROUGHPUT: 400,
    FaultKind.INTERNAL_ERROR: 500,
}


class Layer(StrEnum):
    CALL = "call"  # before-call: never sent, SDK retries bypassed
    SEND = "send"  # before-send: not applied, inside the SDK's retry loop
    LOST = "lost"  # before-send: applied, response lost, the SDK retries
    LOST_AFTER = "lost-after"  # after-call: applied, the error reaches Seam


@dataclass(frozen=True, order=True)
class CallSite:
    """Where a call is made: the Lambda function (logical id, None outside one), service, operation."""

    function: str | None
    service: str
    operation: str

    def __str__(self) -> str:
        return f"{self.function or '-'}:{self.service}.{self.operation}"


@dataclass
class Fault:
    service: str
    operation: str
    kind: FaultKind = FaultKind.THROTTLING
    times: int | None = 1  # None: always
    function: str | None = None
    run_id: str | None = None
    message_id: str | None = None  # SQS functions: only while serving this message
    where: Callable[[dict[str, Any]], bool] | None = None
    layer: Layer = Layer.CALL
    fired: int = 0

    @classmethod
    def at(cls, site: CallSite, **kwargs: Any) -> Fault:
        return cls(site.service, site.operation, function=site.function, **kwargs)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, call: Call, layer: Layer) -> bool:
        return (
            not self.exhausted
            and self.layer is layer
            and self.service == call.site.service
            and self.operation == call.site.operation
            and (self.function is None or self.function == call.site.function)
            and (self.run_id is None or self.run_id == call.run_id)
            and (self.message_id is None or self.message_id == call.message_id)
            and (self.where is None or self.where(call.params))
        )


@dataclass
class Call:
    site: CallSite
    run_id: str | None
    params: dict[str, Any]
    message_id: str | None = None
    status: int | None = None  # the final HTTP status botocore saw (None: it raised)
    injected: list[FaultKind] = field(default_factory=list)
    applied: int = 0  # times the service carried the request out (> 1: an SDK retry repeated it)


@dataclass(frozen=True)
class Injection:
    site: CallSite
    kind: FaultKind
    layer: Layer
    run_id: str | None


@dataclass
class FaultInjector:
    """Registered on every Seam client created after `install()`; records every call and injection."""

    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    injected: list[Injection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> FaultInjector:
        add_client_hook(self.hook)
        return self

    # -- arming --------------------------------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def once(self, service: str, operation: str, kind: FaultKind = FaultKind.THROTTLING, **kw: Any) -> Fault:
        return self.add(Fault(service, operation, kind, times=1, **kw))

    def times(self, n: int, service: str, operation: str, kind: FaultKind, **kw: Any) -> Fault:
        return self.add(Fault(service, operation, kind, times=n, **kw))

    def always(
        self, service: str, operation: str, kind: FaultKind = FaultKind.INTERNAL_ERROR, **kw: Any
    ) -> Fault:
        return self.add(Fault(service, operation, kind, times=None, **kw))

    def disarm(self) -> None:
        with self._lock:
            self.faults.clear()

    # -- reading the record --------------------------------------------------------------------------
    def call_sites(self, functions: set[str] | None = None) -> list[CallSite]:
        sites = {c.site for c in self.calls if functions is None or c.site.function in functions}
        return sorted(sites, key=lambda s: (s.function or "", s.service, s.operation))

    def applied(self, service: str, operation: str) -> list[Call]:
        """Calls the service carried out (whatever the caller saw), once per application."""
        return [
            c
            for c in self.calls
            if (c.site.service, c.site.operation) == (service, operation)
            for _ in range(c.applied)
        ]

    def injected_by_kind(self) -> Counter[str]:
        return Counter(i.kind.value for i in self.injected)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.injected_by_kind().items()))
        return f"{len(self.injected)} faults ({kinds})" if self.injected else "no faults"

    # -- botocore hooks ------------------------------------------------------------------------------
    def hook(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        protocol = client.meta.service_model.protocol
        events = client.meta.events
        events.register("before-parameter-build", self._remember_params)
        # First: moto answers before-send itself, and the first response returned wins.
        events.register_first("before-call", partial(self._before_call, service))
        events.register_first("before-send", partial(self._before_send, protocol))
        events.register("after-call", self._after_call)

    @staticmethod
    def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["seam_api_params"] = dict(params)

    def _before_call(self, service: str, model: Any, context: dict[str, Any], **_: Any) -> Any:
        call = Call(
            CallSite(current_function(), service, model.name),
            current_run_id(),
            context.get("seam_api_params", {}),
            current_message_id(),
        )
        context["seam_call"] = call
        _invocation.call = call
        with self._lock:
            self.calls.append(call)
        fault = self._fire(call, Layer.CALL)
        if fault is None:
            return None
        if fault.kind in _HTTP_STATUS:
            status = _HTTP_STATUS[fault.kind]
            http = AWSResponse("https://fault.invalid/", status, {}, _Raw(b""))
            return http, _error_body(fault.kind, status, call.site)
        raise _connection_error(fault.kind, service)

    def _before_send(self, protocol: str, request: Any, event_name: str = "", **_: Any) -> Any:
        call: Call | None = getattr(_invocation, "call", None)
        if call is None:
            return None
        fault = self._fire(call, Layer.SEND) or self._fire(call, Layer.LOST)
        if fault is None:
            return None
        if fault.layer is Layer.LOST:
            answered = _moto_stubber()(event_name, request)  # the service applies it ...
            if answered is not None and answered.status_code < 300:
                call.applied += 1
            raise ReadTimeoutError(endpoint_url=request.url)  # ... and the answer never arrives
        if fault.kind not in _HTTP_STATUS:
            raise _connection_error(fault.kind, call.site.service, request.url)
        response = _http_error_response(protocol, fault.kind, _HTTP_STATUS[fault.kind], request.url)
        # Every before-send handler runs and the first response wins: moto must not see this request.
        request.url = "https://fault.invalid/"
        return response

    def _after_call(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get("seam_call")
        if call is None:
            return
        call.status = http_response.status_code
        if http_response.url == "https://fault.invalid/":
            return  # answered by a CALL-layer fault: nothing reached the service
        if http_response.status_code < 300:
            call.applied += 1
        if http_response.status_code < 300 and self._fire(call, Layer.LOST_AFTER) is not None:
            call.status = None
            raise ReadTimeoutError(endpoint_url=f"https://{call.site.service}.fault.invalid/")

    def _fire(self, call: Call, layer: Layer) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(call, layer):
                    fault.fired += 1
                    call.injected.append(fault.kind)
                    self.injected.append(Injection(call.site, fault.kind, layer, call.run_id))
                    return fault
        return None


def _moto_stubber() -> Any:
    from moto.core.models import botocore_stubber

    return botocore_stubber


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _error_body(kind: FaultKind, status: int, site: CallSite) -> dict[str, Any]:
    return {
        "Error": {"Code": kind.value, "Message": f"injected {kind.value} on {site.service}.{site.operation}"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }


def _connection_error(kind: FaultKind, service: str, url: str | None = None) -> Exception:
    endpoint = url or f"https://{service}.us-east-1.amazonaws.com/"
    if kind is FaultKind.CRASH:
        return InjectedCrash(f"injected crash calling {service}")
    if kind is FaultKind.READ_TIMEOUT:
        return ReadTimeoutError(endpoint_url=endpoint)
    return EndpointConnectionError(endpoint_url=endpoint)


def _http_error_response(protocol: str, kind: FaultKind, status: int, url: str) -> AWSResponse:
    """An error response in the service's wire protocol, for botocore's parser and retry handler."""
    request_id = str(uuid.uuid4())
    message = f"injected {kind.value}"
    if protocol == "json":
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
        body = json.dumps({"__type": kind.value, "message": message}).encode()
    elif protocol == "rest-json":
        headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": kind.value}
        body = json.dumps({"message": message}).encode()
    else:  # rest-xml (S3) and query
        headers = {"x-amz-request-id": request_id, "Content-Type": "text/xml"}
        body = (
            f"<ErrorResponse><Error><Code>{kind.value}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        if protocol == "rest-xml":
            body = f"<Error><Code>{kind.value}</Code><Message>{message}</Message></Error>".encode()
    return AWSResponse(url, status, headers, _Raw(body))


@contextmanager
def injector(stack: Any) -> Iterator[FaultInjector]:
    """An installed injector whose calls know their function and run (the harness resets the hooks)."""
    track_invocations(stack)
    yield FaultInjector().install()


# -- Kubernetes faults ----------------------------------------------------------------------------------


class KubeFaultKind(StrEnum):
    CONFLICT = "409 Conflict"
    SERVER_ERROR = "500 InternalError"
    RESET = "connection reset"  # before the request reaches the API server
    RESET_AFTER = "connection reset after apply"  # the API server applied it; the response is lost


@dataclass
class KubeFault:
    kind: KubeFaultKind
    method: str = "PATCH"
    path_contains: str = "/deployments/"
    times: int | None = 1
    fired: int = 0

    def matches(self, request: httpx2.Request) -> bool:
        return (
            (self.times is None or self.fired < self.times)
            and request.method == self.method
            and self.path_contains in request.url.path
        )


@dataclass
class FaultyTransport(httpx2.BaseTransport):
    """Wraps the transport to the Kubernetes API and injects `faults` (first match fires)."""

    inner: httpx2.BaseTransport
    faults: list[KubeFault] = field(default_factory=list)
    injected: list[tuple[str, str, KubeFaultKind]] = field(default_factory=list)
    requests: list[tuple[str, str, int | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: KubeFault) -> KubeFault:
        self.faults.append(fault)
        return fault

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault:
                fault.fired += 1
                self.injected.append((request.method, request.url.path, fault.kind))
        if fault is None or fault.kind is KubeFaultKind.RESET_AFTER:
            response = self.inner.handle_request(request)
            self.requests.append((request.method, request.url.path, response.status_code))
            if fault is None:
                return response
            response.read()
            response.close()
            raise httpx2.ReadError("[Errno 104] Connection reset by peer (injected)", request=request)
        self.requests.append((request.method, request.url.path, None))
        if fault.kind is KubeFaultKind.RESET:
            raise httpx2.ConnectError("[Errno 104] Connection reset by peer (injected)", request=request)
        code, reason = (409, "Conflict") if fault.kind is KubeFaultKind.CONFLICT else (500, "InternalError")
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"injected {fault.kind.value}: the object has been modified; please apply your "
            "changes to the latest version and try again",
            "reason": reason,
            "code": code,
        }
        return httpx2.Response(code, json=status, request=request)

    def close(self) -> None:
        self.inner.close()
