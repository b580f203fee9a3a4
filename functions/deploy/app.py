"""Deploy: record the serving Deployment's current spec, then patch in the new version."""

import seam.adapters.serving.eks  # noqa: F401  (every call uses the Kubernetes client: load it at init)
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.adapters.dynamodb import versions  # noqa: F401  (deploy_target reads a deploy run's version)
from seam.dependencies import dependencies
from seam.domain.deployment import deploy, deploy_target
from seam.models.views.serving import ServingState
from seam.observability import RUN_ID_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=ServingState)
def lambda_handler(state: ServingState, context: LambdaContext) -> dict:
    deps = dependencies()
    allowed = deps.settings.allowed_clusters
    target, image = deploy_target(state, deps.serving_targets, deps.versions, allowed)  # one config read
    wait = deps.settings.rollout_wait_seconds
    deployment = deploy(state, target, deps.serving, deps.runs, wait, image)
    logger.info(
        "deployment patched", extra={"target": target.model_dump(), "generation": deployment.generation}
    )
    return state.model_copy(update={"deployment": deployment}).dump()
