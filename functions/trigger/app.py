"""Trigger: SQS batch of S3 drops, schedule ticks, drift alarms and manual requests -> runs.

A malformed body fails its record (redelivered, then dead-lettered); an event that maps to no model
is logged with the reason and dropped; everything else starts a run or becomes the model's one
pending retrain. Idempotency (Powertools, keyed by run id) absorbs redelivered duplicates cheaply.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.adapters.aws import client
from seam.dependencies import dependencies
from seam.domain.triggering import Ignored, requests_for, start_or_coalesce
from seam.errors import ModelNotFoundError
from seam.models.events import parse_trigger_body
from seam.models.run import RunRequest
from seam.observability import MetricUnit, logged_record_handler, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="run_id", expires_after_seconds=3600)


@cache
def start_once() -> Any:
    deps = dependencies()
    store = DynamoDBPersistenceLayer(
        table_name=deps.settings.idempotency_table, boto3_client=client("dynamodb")
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=IDEMPOTENCY)
    def start(request: dict[str, Any]) -> dict[str, str]:
        outcome = start_or_coalesce(
            RunRequest.model_validate(request["request"]), deps.locks, deps.runs, deps.workflow
        )
        return {"run_id": request["run_id"], "outcome": outcome.value}

    return start


def handle_record(record: SQSRecord) -> None:
    deps = dependencies()
    event = parse_trigger_body(record.body)  # BadEventError: poison, logged by logged_record_handler
    try:
        requests = requests_for(event, deps.models, deps.settings.data_bucket)
    except ModelNotFoundError as exc:
        logger.warning(
            "event maps to no model; nothing started",
            extra={"reason": str(exc), "message_id": record.message_id},
        )
        metrics.add_metric(name="EventsUnmapped", unit=MetricUnit.Count, value=1)
        return
    if isinstance(requests, Ignored):
        logger.info("event ignored", extra={"reason": requests.reason, "message_id": record.message_id})
        return
    for request in requests:
        result = start_once()(request={"run_id": request.run_id, "request": request.model_dump(mode="json")})
        logger.info("trigger handled", extra={**result, "model": request.model, "trigger": request.trigger})
        metrics.add_metric(name=f"Trigger_{result['outcome']}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(
        event=event,
        record_handler=logged_record_handler("trigger", handle_record),
        processor=processor,
        context=context,
    )
