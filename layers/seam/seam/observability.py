"""The one place that creates Powertools Logger, Tracer and Metrics for every handler.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
Handlers decorate in one order: inject_lambda_context -> log_metrics -> capture_lambda_handler.

Metrics (namespace Seam): the handlers' counts carry the dimension `service` only; a run's outcome, its
time in each state and the trigger's outcomes also carry `model` (`record_run_ended`, `count`). The
dashboard and alarms in template.yaml read exactly these names (tests/template checks it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from seam.errors import BadEventError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

Handler = TypeVar("Handler", bound=Callable[..., Any])


class RunLogger(Logger):
    """Powertools' Logger whose `inject_lambda_context` starts every invocation from a clean state
    (`clear_state=True` by default): keys and the correlation id of the previous invocation, in the same
    warm process, never reach this one's lines (an "unknown model" warning tagged with an unrelated run)."""

    @overload
    def inject_lambda_context(
        self,
        lambda_handler: Handler,
        log_event: bool | None = None,
        correlation_id_path: str | None = None,
        clear_state: bool | None = True,
        flush_buffer_on_uncaught_error: bool = False,
    ) -> Handler: ...

    @overload
    def inject_lambda_context(
        self,
        lambda_handler: None = None,
        log_event: bool | None = None,
        correlation_id_path: str | None = None,
        clear_state: bool | None = True,
        flush_buffer_on_uncaught_error: bool = False,
    ) -> Callable[[Handler], Handler]: ...

    def inject_lambda_context(
        self,
        lambda_handler: Handler | None = None,
        log_event: bool | None = None,
        correlation_id_path: str | None = None,
        clear_state: bool | None = True,
        flush_buffer_on_uncaught_error: bool = False,
    ) -> Any:
        return super().inject_lambda_context(
            lambda_handler,
            log_event=log_event,
            correlation_id_path=correlation_id_path,
            clear_state=clear_state,
            flush_buffer_on_uncaught_error=flush_buffer_on_uncaught_error,
        )


logger = RunLogger()
# Patch only botocore (every AWS call becomes a subsegment): the default patches every supported
# library it can import (requests, sqlite3, httplib, ...), which costs cold start and traces nothing
# Seam calls.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


def reread_environment() -> None:
    """Take the metrics namespace from the environment again (Powertools reads it once, when `metrics` is
    made at import): for tests and the local runtime, which set the stack's environment after Seam was
    first imported (seam.reset)."""
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    if namespace:  # an environment without one keeps the namespace Seam had
        metrics.namespace = namespace


# Where the run id lives in each workflow state's input: the correlation id of every log line.
RUN_ID_PATH = "run_id"

__all__ = [
    "RUN_ID_PATH",
    "MetricUnit",
    "count",
    "logged_record_handler",
    "logger",
    "metrics",
    "record_run_ended",
    "run_context",
    "tracer",
]


@contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Lines logged inside carry `run_id` as their correlation id (a handler that acts for several runs,
    like the trigger, says whose line each is)."""
    with logger.append_context_keys(correlation_id=run_id):
        yield


def count(name: str, model: str | None = None) -> None:
    """Add 1 to `name` (dimension service) and, given the model, to its per-model series too."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if model:
        _flush_for_model(model, {name: 1.0}, {}, {})


def record_run_ended(
    model: str,
    status: str,
    state_timings: Mapping[str, float],
    billable_seconds: float | None = None,
    cost: Mapping[str, Any] | None = None,
) -> None:
    """Count a run's outcome for its model: Run<Status> = 1, and RunFailed = 1 or 0 (so a model's
    average RunFailed over a period is the share of its runs that failed), plus TimeIn_<STATE> seconds
    for every state it went through, its training job's TrainingBillableSeconds and RunCostUSD (when
    its cost is known)."""
    counts = {f"Run{status.title()}": 1.0, "RunFailed": 1.0 if status == "FAILED" else 0.0}
    seconds = {f"TimeIn_{state}": value for state, value in state_timings.items()}
    if billable_seconds is not None:
        seconds["TrainingBillableSeconds"] = float(billable_seconds)
    plain = {"RunCostUSD": float(cost["total_usd"])} if cost and cost.get("total_usd") is not None else {}
    _flush_for_model(model, counts, seconds, plain)


def _flush_for_model(
    model: str, counts: Mapping[str, float], seconds: Mapping[str, float], plain: Mapping[str, float]
) -> None:
    """One EMF line with the dimension `model` (the handler's shared `metrics` cannot hold a dimension
    per run: a batch serves several models)."""
    per_model = EphemeralMetrics()
    per_model.add_dimension(name="model", value=model)
    for name, value in counts.items():
        per_model.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for name, value in seconds.items():
        per_model.add_metric(name=name, unit=MetricUnit.Seconds, value=value)
    for name, value in plain.items():
        per_model.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)
    per_model.flush_metrics()


def logged_record_handler(kind: str, handle: Callable[[SQSRecord], None]) -> Callable[[SQSRecord], None]:
    """Log every failed SQS record with its reason before Powertools reports it as a batch item failure
    (SQS redelivers it, then dead-letters it after maxReceiveCount): Powertools itself logs nothing."""

    def handler(record: SQSRecord) -> None:
        try:
            handle(record)
        except BadEventError as exc:  # poison: malformed or not Seam's to act on
            logger.error(
                f"rejected {kind} message",
                extra={"reason": f"BadEventError: {exc}", "message_id": record.message_id},
            )
            metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
            raise
        except Exception as exc:  # a dependency or a bug: redelivered, so say why
            logger.exception(
                f"{kind} record failed; left for redelivery",
                extra={"reason": f"{type(exc).__name__}: {exc}", "message_id": record.message_id},
            )
            raise

    return handler
