"""Training's launch: a run's job (token first), its CreateTrainingJob request, the budget check before
it. Settling the job's token is seam.domain.settlement, what proves a job is the run's own
seam.domain.job_identity, the wait limits seam.domain.training_limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from seam.adapters.dynamodb.runs import RunStore
from seam.domain.job_identity import JobIdentity, refuse_foreign_job
from seam.errors import (
    BudgetExceededError,
    TrainingError,
    TransientError,
)
from seam.models.run import RunStatus

# Named for the signatures only: each function loads the adapters it uses, as LaunchTraining loads
# the model config.
if TYPE_CHECKING:
    from seam.adapters.dynamodb.models import ModelStore
    from seam.adapters.dynamodb.tokens import TokenStore
    from seam.adapters.sagemaker import TrainingJobs
    from seam.models.snapshot import Snapshot
    from seam.models.training_config import TrainingConfig
    from seam.models.views.training import TrainingState


class Launch(NamedTuple):
    training_job_name: str
    created: bool  # False: the job existed already (a retried launch)


def launch_training(
    state: TrainingState,
    task_token: str,
    attempt: int,
    models: ModelStore,
    tokens: TokenStore,
    runs: RunStore,
    jobs: TrainingJobs,
    *,
    role_arn: str,
    data_bucket: str,
    stage: str,
    key_arn: str,
) -> Launch:
    """The LaunchTraining state: store the task token under the job name (the run id), mark the run
    TRAINING, then CreateTrainingJob. Token first: a job that fails at once can emit its event before
    CreateTrainingJob returns. `attempt` (the state's retry count) orders the tokens of attempts that
    overlap: only a later attempt's token replaces an earlier one's."""
    config = models.training(state.model)
    if state.snapshot is None:  # not an assert: `python -O` drops those, and this is input checking
        raise TrainingError(
            f"run {state.run_id} has no dataset snapshot: Validate copies the validated bytes "
            "before LaunchTraining"
        )
    job_name = state.run_id
    refuse_over_budget(config, state.run_id, job_name, models, tokens, runs)
    output = model_output_uri(data_bucket, config.name)
    identity = JobIdentity(state.run_id, stage, role_arn, config.training.image, output)
    tokens.put(job_name, task_token, state.run_id, attempt, expected=identity.stored())
    runs.update(state.run_id, status=RunStatus.TRAINING, training_job_name=job_name, team=config.team)
    request = training_job_request(config, state.run_id, state.snapshot, role_arn, output, stage)
    request = hardened(request, config, key_arn)
    if jobs.create(request):
        return Launch(job_name, created=True)
    adopt_existing_job(identity, tokens, jobs)  # the name is taken: ours (a retried launch), or not
    return Launch(job_name, created=False)


def adopt_existing_job(identity: JobIdentity, tokens: TokenStore, jobs: TrainingJobs) -> None:
    """The training job holding the run's name (its run id), adopted only when it is the run's own."""
    description = jobs.describe(identity.run_id)
    if description is None:  # CreateTrainingJob said the name is taken: a read that lags behind
        raise TransientError(f"training job {identity.run_id} exists but cannot be described yet")
    tags = jobs.tags(description["TrainingJobArn"])
    refuse_foreign_job("training", identity.run_id, identity, description, tags, tokens)


def model_output_uri(data_bucket: str, model: str) -> str:
    """Where SageMaker writes a model's artifacts (<job>/output/model.tar.gz below it); the template
    lets the SageMaker role write models/* of the data bucket."""
    return f"s3://{data_bucket}/models/{model}/"


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def input_channels(snapshot: Snapshot) -> list[dict[str, Any]]:
    """`train`: the run's snapshot of the validated bytes (its own folder: nothing else matches the
    prefix). With a holdout, `holdout`: the rows both models are scored on; and when the champion was
    trained by this same image digest, `champion`: its model.tar.gz. The image then writes
    challenger.csv and champion.csv (per-row predictions) to /opt/ml/output/data, which SageMaker
    uploads as output.tar.gz beside model.tar.gz: the champion is scored without another job start
    (examples/churn/README.md "Evaluation")."""
    channels = [_channel("train", snapshot.train_prefix)]
    holdout = snapshot.holdout
    if holdout is not None:
        channels.append(_channel("holdout", holdout.uri.rsplit("/", 1)[0] + "/"))
        if holdout.champion is not None and holdout.champion.scored_in_training:
            channels.append(_channel("champion", holdout.champion.model_artifact_uri))
    return channels


def training_job_request(
    config: TrainingConfig, run_id: str, snapshot: Snapshot, role_arn: str, output_uri: str, stage: str
) -> dict[str, Any]:
    spec = config.training
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": spec.max_runtime_seconds}
    if spec.use_spot and spec.max_wait_seconds:
        stopping["MaxWaitTimeInSeconds"] = spec.max_wait_seconds
    request: dict[str, Any] = {
        "TrainingJobName": run_id,  # deterministic: a retried launch cannot start a second job
        "AlgorithmSpecification": {
            "TrainingImage": spec.image,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": n, "Regex": r} for n, r in spec.metric_definitions.items()],
        },
        "RoleArn": role_arn,
        "InputDataConfig": input_channels(snapshot),
        "OutputDataConfig": {"S3OutputPath": output_uri},
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": spec.volume_size_gb,
        },
        "StoppingCondition": stopping,
        "HyperParameters": spec.hyperparameters,
        "EnableManagedSpotTraining": spec.use_spot,
        "Tags": config.cost_tags(run_id, stage),
    }
    if spec.warm_pool_keep_alive_seconds:
        request["ResourceConfig"]["KeepAlivePeriodInSeconds"] = spec.warm_pool_keep_alive_seconds
    if spec.checkpoint_s3_uri:
        # Per stage and model: a dev and a prod stack with the same config never resume each other's.
        checkpoints = f"{spec.checkpoint_s3_uri.rstrip('/')}/{stage}/{config.name}/"
        request["CheckpointConfig"] = {"S3Uri": checkpoints}
    return request


def refuse_over_budget(
    config: TrainingConfig, run_id: str, job_name: str, models: ModelStore, tokens: TokenStore, runs: RunStore
) -> None:
    """Budgets (seam.domain.budgets), before a job of the run is stored or created (its training job,
    or the Processing job that scores its champion first): BudgetExceededError ends the run SKIPPED
    (Finalize) with nothing launched. Checked once per job: a retried launch whose earlier attempt got
    past it (its token is stored) must not orphan that attempt's job."""
    if config.budget is None or tokens.get(job_name) is not None:
        return
    from seam.domain.budgets import check_budget  # only models with a budget pay for its imports

    check = check_budget(config, run_id, models, runs)
    if not check.within:
        raise BudgetExceededError(check.reason)


def hardened(request: dict[str, Any], config: TrainingConfig, key_arn: str) -> dict[str, Any]:
    """The training job's protections, on top of what it trains: no network unless the model config
    says why (EnableNetworkIsolation), the stack's KMS key for the ML volume and the output
    (VolumeKmsKeyId, OutputDataConfig.KmsKeyId: ARNs, as the IAM conditions sagemaker:VolumeKmsKey and
    sagemaker:OutputKmsKey compare them) and encrypted traffic between the instances of a
    multi-instance job. LaunchTraining's role may only create jobs that carry these (template.yaml)."""
    if not key_arn:
        raise TrainingError(
            "no training key (SEAM_TRAINING_KEY_ARN): Seam creates no unencrypted training job"
        )
    hardened_request = {
        **request,
        "EnableNetworkIsolation": config.training.network_isolation,
        "ResourceConfig": {**request["ResourceConfig"], "VolumeKmsKeyId": key_arn},
        "OutputDataConfig": {**request["OutputDataConfig"], "KmsKeyId": key_arn},
    }
    # Between the instances of a job: a one-instance job has no such traffic, so there the flag changes
    # nothing; it is set on every job so that IAM can require it of every job Seam creates.
    hardened_request["EnableInterContainerTrafficEncryption"] = True
    return hardened_request
