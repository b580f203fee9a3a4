"""Trigger: SQS batches of data drops, ticks, drift alarms, manual/operator requests, approvals -> runs."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.triggering import NOT_STARTED, Ignored, Outcome, Queued, route, start_routed
from seam.models.events import parse_trigger_body
from seam.models.run_request import RunRequest
from seam.observability import count, logged_record_handler, logger, metrics, run_context, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def handle_record(record: SQSRecord) -> list[RunRequest]:
    """Route one record's event (seam.domain.triggering.route): the run requests it asks to start."""
    event = parse_trigger_body(record.body)  # BadEventError: poison, logged
    routed = route(event, dependencies())  # the adapters of the event's kind
    if not isinstance(routed, list):
        report(routed, message_id=record.message_id)  # started nothing: a tick's queue, or why not
    return routed if isinstance(routed, list) else []


def report(outcome: Outcome, **extra: str) -> bool:
    """Log (and count) what a record or a request came to; True: its record is to be redelivered."""
    if isinstance(outcome, Queued):
        logger.info("scheduled retrains queued", extra={**outcome._asdict(), **extra})
    elif isinstance(outcome, Ignored):
        logger.info("event ignored", extra={"reason": outcome.reason, **extra})
    elif type(outcome) in NOT_STARTED:  # can never start as it is: logged, counted, not redelivered
        logger.warning(NOT_STARTED[type(outcome)].message, extra={"reason": str(outcome), **extra})
        count(NOT_STARTED[type(outcome)].metric)
    elif isinstance(outcome, Exception):
        reason = f"{type(outcome).__name__}: {outcome}"
        logger.error("trigger record failed; left for redelivery", extra={"reason": reason, **extra})
        return True
    else:
        logger.info("trigger handled", extra={"outcome": outcome.value, **extra})
        count(f"Trigger_{outcome.value}", model=extra.get("model"))  # per model too: runs started
    return False


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    requests: dict[str, list[RunRequest]] = {}

    def collect(record: SQSRecord) -> None:
        requests[record.message_id] = handle_record(record)  # the module's: tests wrap it per record

    response = process_partial_response(event, logged_record_handler("trigger", collect), processor, context)
    deps, failed = dependencies(), {}  # the batch's requests start together: one read, one write
    started = start_routed(requests, deps.models, deps.locks, deps.runs, deps.workflow, deps.settings)
    for m, r, outcome in started:
        with run_context(r.run_id):  # the request's lines are its run's
            if report(outcome, message_id=m, run_id=r.run_id, model=r.model, trigger=r.trigger):
                failed[m] = {"itemIdentifier": m}
    return {"batchItemFailures": response["batchItemFailures"] + list(failed.values())}
