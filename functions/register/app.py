"""Register: a Model Registry version (ClientToken = run id) and a version record with lineage; for a
deploy run, the registered version it deploys, checked (seam.domain.deploy_runs)."""

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.registration import register_run
from seam.models.views.register import RegisterState
from seam.observability import RUN_ID_PATH, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=RegisterState)
def lambda_handler(state: RegisterState, context: LambdaContext) -> dict:
    deps = dependencies()
    settings = deps.settings
    registered = register_run(
        state,
        deps.models,
        deps.registry,
        deps.versions,
        deps.runs,
        settings.model_package_group_prefix,
        settings.stage,
    )
    assert registered.registration is not None
    logger.info(
        "registered" if state.deploy is None else "deploy resolved",
        extra=registered.registration.model_dump(),
    )
    return registered.dump()
