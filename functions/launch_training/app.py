"""LaunchTraining: store the task token under the job name, then CreateTrainingJob (deterministic name).

Invoked with .waitForTaskToken: its return value is ignored; the training callback (or the reconciler)
settles the token when the job ends.
"""

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel
from seam.dependencies import dependencies
from seam.domain.training import training_job_request
from seam.errors import TrainingError
from seam.models.run import RunStatus, WorkflowState
from seam.observability import logger, metrics, tracer


class LaunchInput(BaseModel):
    state: WorkflowState
    task_token: str


@logger.inject_lambda_context(correlation_id_path="state.run_id")
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=LaunchInput)
def lambda_handler(event: LaunchInput, context: LambdaContext) -> dict:
    deps = dependencies()
    state, settings = event.state, deps.settings
    config = deps.models.get(state.model)
    if state.dataset is None:  # not an assert: `python -O` drops those, and this is input checking
        raise TrainingError(f"run {state.run_id} has no dataset: Validate resolves it before LaunchTraining")
    job_name = state.run_id
    # Token first: a job that fails at once can emit its event before CreateTrainingJob returns.
    deps.tokens.put(job_name, event.task_token, state.run_id)
    deps.runs.update(state.run_id, status=RunStatus.TRAINING, training_job_name=job_name)
    request = training_job_request(
        config,
        state.run_id,
        state.dataset,
        settings.sagemaker_role_arn,
        f"s3://{settings.data_bucket}/models/{config.name}/",
        settings.stage,
    )
    created = deps.training.create(request)
    logger.info(
        "training job launched" if created else "training job already exists", extra={"job": job_name}
    )
    return {"training_job_name": job_name, "created": created}
