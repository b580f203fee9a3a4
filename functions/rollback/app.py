"""Rollback: restore the serving spec recorded before Deploy (safe to retry)."""

import seam.adapters.serving.eks  # noqa: F401  (every call uses the Kubernetes client: load it at init)
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.deployment import rollback, serving_target
from seam.models.views.serving import ServingState
from seam.observability import RUN_ID_PATH, MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=ServingState)
def lambda_handler(state: ServingState, context: LambdaContext) -> dict:
    deps = dependencies()
    target = serving_target(deps.serving_targets, state.model, deps.settings.allowed_clusters)
    restored = rollback(state, target, deps.serving, deps.runs)
    if restored:
        metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    logger.warning(
        "rolled back" if restored else "nothing to roll back: Deploy failed before patching",
        extra={"target": target.model_dump(), "rollout": state.deployment, "error": state.error},
    )
    return state.model_copy(update={"rolled_back": restored}).dump()
