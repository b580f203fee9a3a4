"""Trigger: SQS batch of S3 drops, schedule ticks, drift alarms and manual requests -> runs.

Two steps. Each record is parsed and mapped to run requests (Powertools' batch processor): a
malformed body fails its record (redelivered, then dead-lettered); an event that maps to no model is
logged with the reason and dropped; a schedule tick queues one delayed message per due model instead,
spread over `ScheduleSpreadSeconds`. Then the batch's requests start or coalesce together
(`start_batch`: one read, one write for the common cases); a request that fails there fails its
record, which SQS redelivers. Redeliveries are cheap: run ids are deterministic, so the run record
and the model's lock already say whether a request was seen.
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.starting import start_batch
from seam.domain.triggering import Ignored, requests_for, spread_delay
from seam.errors import ModelNotFoundError
from seam.models.events import QueuedRequest, ScheduleTick, parse_trigger_body
from seam.models.run import RunRequest
from seam.observability import MetricUnit, logged_record_handler, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def _unmapped(reason: str, message_id: str) -> None:
    logger.warning(
        "event maps to no model; nothing started", extra={"reason": reason, "message_id": message_id}
    )
    metrics.add_metric(name="EventsUnmapped", unit=MetricUnit.Count, value=1)


def handle_record(record: SQSRecord) -> list[RunRequest]:
    """Parse and map one record to the run requests it asks for (none when unmapped or ignored)."""
    deps = dependencies()
    event = parse_trigger_body(record.body)  # BadEventError: poison, logged by logged_record_handler
    try:
        mapped = requests_for(event, deps.models, deps.settings.data_bucket)
    except ModelNotFoundError as exc:
        _unmapped(str(exc), record.message_id)
        return []
    if isinstance(mapped, Ignored):
        logger.info("event ignored", extra={"reason": mapped.reason, "message_id": record.message_id})
        return []
    if isinstance(event, ScheduleTick):
        # Fan out: one delayed message per due model, so a tick never starts every model in one
        # invocation or one second; each comes back as a QueuedRequest and starts like any other.
        window = deps.settings.schedule_spread_seconds
        deps.trigger_queue.send([(QueuedRequest.body(r), spread_delay(r, window)) for r in mapped])
        logger.info(
            "scheduled retrains queued",
            extra={"models": len(mapped), "spread_seconds": window, "message_id": record.message_id},
        )
        return []
    return mapped


def start_all(requests: dict[str, list[RunRequest]]) -> list[str]:
    """Start or coalesce every request of the batch; the message ids whose requests failed."""
    deps = dependencies()
    flat = [request for mapped in requests.values() for request in mapped]
    outcomes = start_batch(flat, deps.models, deps.locks, deps.runs, deps.workflow) if flat else {}
    failed: list[str] = []
    for message_id, mapped in requests.items():
        for request in mapped:
            outcome = outcomes[request.run_id]
            if isinstance(outcome, ModelNotFoundError):
                _unmapped(str(outcome), message_id)
            elif isinstance(outcome, Exception):
                logger.error(
                    "trigger record failed; left for redelivery",
                    extra={
                        "reason": f"{type(outcome).__name__}: {outcome}",
                        "message_id": message_id,
                        "run_id": request.run_id,
                    },
                )
                failed.append(message_id)
            else:
                logger.info(
                    "trigger handled",
                    extra={
                        "run_id": request.run_id,
                        "outcome": outcome.value,
                        "model": request.model,
                        "trigger": request.trigger,
                    },
                )
                metrics.add_metric(name=f"Trigger_{outcome.value}", unit=MetricUnit.Count, value=1)
    return list(dict.fromkeys(failed))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    requests: dict[str, list[RunRequest]] = {}

    def collect(record: SQSRecord) -> None:
        requests[record.message_id] = handle_record(record)

    response = process_partial_response(
        event=event,
        record_handler=logged_record_handler("trigger", collect),
        processor=processor,
        context=context,
    )
    failures = response["batchItemFailures"] + [{"itemIdentifier": m} for m in start_all(requests)]
    return {"batchItemFailures": failures}
