"""LaunchTraining: store the task token under the job name, then CreateTrainingJob (deterministic name).

Invoked with .waitForTaskToken: its return value is ignored; the training callback (or the reconciler)
settles the token when the job ends.
"""

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

# The adapters the launch uses, which seam.domain.training only names: loaded here, at init.
from seam.adapters import sagemaker  # noqa: F401
from seam.adapters.dynamodb import models, tokens  # noqa: F401
from seam.dependencies import dependencies
from seam.domain.training import launch_training
from seam.models.task_token import TokenTaskInput
from seam.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="state.run_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=TokenTaskInput)
def lambda_handler(event: TokenTaskInput, context: LambdaContext) -> dict:
    deps = dependencies()
    settings = deps.settings
    launch = launch_training(
        event.state,
        event.task_token,
        event.attempt,
        deps.models,
        deps.tokens,
        deps.runs,
        deps.training,
        role_arn=settings.sagemaker_role_arn,
        data_bucket=settings.data_bucket,
        stage=settings.stage,
        key_arn=settings.training_key_arn,
    )
    logger.info(
        "training job launched" if launch.created else "training job already exists",
        extra={"job": launch.training_job_name},
    )
    return launch._asdict()
