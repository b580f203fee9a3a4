"""AWS clients for every adapter, created once per container, and AWS error translation.

All clients come from `client()`: one botocore Config (standard retry mode, bounded timeouts) and one
place where tests can hook botocore events to inject faults. They are botocore clients, made the way
boto3 makes them (a session per client): importing boto3 would add its package and s3transfer
(about 0.12x `import boto3`) to every cold start for nothing Seam uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from seam.errors import SeamError, StaleUpdateError, TransientError

# Standard mode retries throttling and 5xx with backoff; what survives it becomes a TransientError,
# which the state machine's Retry handles with longer waits.
_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=20)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "LimitExceededException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "InternalServerException",
    }
)

STALE_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})

_client_hooks: list[Callable[[Any], None]] = []


@cache
def client(service: str) -> Any:
    new = botocore.session.get_session().create_client(service, config=_CONFIG)
    for hook in _client_hooks:
        hook(new)
    return new


def add_client_hook(hook: Callable[[Any], None]) -> None:
    """Run `hook(client)` on every client created from now on (fault injection, local runtime)."""
    _client_hooks.append(hook)
    client.cache_clear()


def reset_clients() -> None:
    _client_hooks.clear()
    client.cache_clear()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in THROTTLING_CODES or status >= 500
    return isinstance(
        exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
    )


@contextmanager
def aws_call(what: str, error: type[SeamError] = SeamError) -> Iterator[None]:
    """Name the call in any error: a lost conditional write becomes StaleUpdateError, transient
    failures TransientError, the rest `error`."""
    try:
        yield
    except (
        ClientError,
        EndpointConnectionError,
        ConnectTimeoutError,
        ReadTimeoutError,
        ConnectionClosedError,
    ) as exc:
        detail = f"{what} failed: {exc}"
        # A cancelled transaction is a lost conditional write too (or a conflict with another writer).
        if isinstance(exc, ClientError) and error_code(exc) in STALE_CODES:
            raise StaleUpdateError(f"{what}: condition not met") from exc
        if is_transient(exc):
            raise TransientError(detail) from exc
        raise error(detail) from exc


def cause_code(exc: BaseException) -> str:
    """The AWS error code behind a translated error ("" when it did not come from a ClientError)."""
    cause = exc.__cause__
    return error_code(cause) if isinstance(cause, ClientError) else ""
