"""TrainingCallback: SageMaker "Training Job State Change" and "Processing Job State Change" events (a
champion scored by its own image), and the reconciler's checks -> settle (or heartbeat) the task token.

Each is a hint: DescribeTrainingJob (DescribeProcessingJob for a scoring job's token) is the truth.
Settlement is exactly-once (conditional claim of the token record); jobs Seam did not start are
ignored; a late event after a terminal status is a no-op.
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

# The adapters settlement uses, which seam.domain.settlement only names: loaded here, at init.
from seam.adapters import sagemaker, workflow  # noqa: F401
from seam.adapters.dynamodb import tokens  # noqa: F401
from seam.dependencies import dependencies
from seam.domain.settlement import Settlement, TrainingSettler
from seam.models.training_check import TrainingCheck
from seam.models.training_events import parse_training_body
from seam.observability import MetricUnit, logged_record_handler, logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def handle_record(record: SQSRecord) -> None:
    deps = dependencies()
    event = parse_training_body(record.body)  # BadEventError: poison, logged by logged_record_handler
    job_name = event.job_name
    claimant = TrainingCheck.CLAIMANT if isinstance(event, TrainingCheck) else record.message_id
    settler = TrainingSettler(deps.tokens, deps.runs, deps.workflow, deps.training.tags, claimant=claimant)
    outcome = settler.settle(job_name, deps.training.describe, deps.training.describe_processing)
    if outcome is Settlement.NOT_OURS:
        logger.info(
            "training job not started by Seam; ignored",
            extra={
                "job": job_name,
                "reason": f"no task token stored for training job {job_name!r}",
                "message_id": record.message_id,
            },
        )
        return
    logger.info(
        "training state handled",
        extra={"job": job_name, "event_status": event.hint, "outcome": outcome.value},
    )
    metrics.add_metric(name=f"Training_{outcome.value}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event,
        record_handler=logged_record_handler("training event", handle_record),
        processor=processor,
        context=context,
    )
