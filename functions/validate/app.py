"""Validate: check the dataset the run points at against the model's rules (or skip unchanged data)."""

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.validation import validate_run
from seam.models.views.validate import ValidateState
from seam.observability import RUN_ID_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=ValidateState)
def lambda_handler(state: ValidateState, context: LambdaContext) -> dict:
    deps = dependencies()
    validated = validate_run(
        state,
        deps.models,
        deps.versions,
        deps.datasets,
        deps.runs,
        stale_after_seconds=deps.settings.training_stale_after_seconds,
    )
    logger.info(
        "dataset validated",
        extra={
            "dataset": validated.dataset.uri if validated.dataset else None,
            "data_unchanged": validated.data_unchanged,
        },
    )
    return validated.dump()
