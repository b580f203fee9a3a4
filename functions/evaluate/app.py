"""Evaluate: the challenger's metric against the serving champion's."""

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.evaluation import evaluate_run
from seam.models.views.evaluate import EvaluateState
from seam.observability import RUN_ID_PATH, MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=EvaluateState)
def lambda_handler(state: EvaluateState, context: LambdaContext) -> dict:
    deps = dependencies()
    result = evaluate_run(state, deps.models, deps.versions, deps.runs, deps.datasets)
    metrics.add_metric(name=f"Evaluation_{result.decision}", unit=MetricUnit.Count, value=1)
    logger.info("evaluated", extra={"decision": result.decision, "reason": result.reason})
    if result.warning:
        logger.warning("evaluation fell back to the logged metric", extra={"warning": result.warning})
    return state.model_copy(update={"evaluation": result}).dump()
