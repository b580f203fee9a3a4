"""CheckRollout: kubectl's rollout-status rules -> done / progressing / failed (with a ceiling)."""

import seam.adapters.serving.eks  # noqa: F401  (every call uses the Kubernetes client: load it at init)
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.deployment import check_rollout, serving_target
from seam.models.views.serving import ServingState
from seam.observability import RUN_ID_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=ServingState)
def lambda_handler(state: ServingState, context: LambdaContext) -> dict:
    deps = dependencies()
    target = serving_target(deps.serving_targets, state.model, deps.settings.allowed_clusters)
    deployment = check_rollout(state, target, deps.serving, deps.settings.rollout_max_checks)
    logger.info("rollout checked", extra={"state": deployment.state, "rollout": deployment.rollout})
    return state.model_copy(update={"deployment": deployment}).dump()
