"""The one place that creates Powertools Logger, Tracer and Metrics for every handler.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
Handlers decorate in one order: inject_lambda_context -> log_metrics -> capture_lambda_handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from seam.errors import BadEventError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger()
# Patch only botocore (every AWS call becomes a subsegment): the default patches every supported
# library it can import (requests, sqlite3, httplib, ...), which costs cold start and traces nothing
# Seam calls.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()

# Where the run id lives in each workflow state's input: the correlation id of every log line.
RUN_ID_PATH = "run_id"

__all__ = ["RUN_ID_PATH", "MetricUnit", "logged_record_handler", "logger", "metrics", "tracer"]


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
