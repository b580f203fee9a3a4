"""Training: launching a run's job (token first), the CreateTrainingJob request, settling a job's task
token, and stopping the jobs nobody waits for any more (the wait limits are in training_limits.py).

The callback settles through `settle`, for SageMaker's events and for the reconciler's checks of quiet
trainings alike, so a lost, duplicated or late event can never settle a token twice or overwrite a
terminal status.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from seam.adapters.dynamodb.runs import RunStore
from seam.errors import BudgetExceededError, StaleUpdateError, TrainingError
from seam.models.run import RunStatus, Snapshot, TrainingResult, utc_now

# Named for the signatures only: each function loads the adapters it uses, as LaunchTraining loads
# the model config.
if TYPE_CHECKING:
    from seam.adapters.dynamodb.models import ModelStore
    from seam.adapters.dynamodb.tokens import TokenRecord, TokenStore
    from seam.adapters.sagemaker import JobStop, TrainingJobs
    from seam.adapters.workflow import Workflow
    from seam.models.model_config import ModelConfig
    from seam.models.workflow_state import WorkflowState


@dataclass(frozen=True)
class Launch:
    training_job_name: str
    created: bool  # False: the job existed already (a retried launch)


def launch_training(
    state: WorkflowState,
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
) -> Launch:
    """The LaunchTraining state: store the task token under the job name (the run id), mark the run
    TRAINING, then CreateTrainingJob. Token first: a job that fails at once can emit its event before
    CreateTrainingJob returns. `attempt` (the state's retry count) orders the tokens of attempts that
    overlap: only a later attempt's token replaces an earlier one's."""
    config = models.get(state.model)
    if state.snapshot is None:  # not an assert: `python -O` drops those, and this is input checking
        raise TrainingError(
            f"run {state.run_id} has no dataset snapshot: Validate copies the validated bytes "
            "before LaunchTraining"
        )
    job_name = state.run_id
    # Budgets (seam.domain.budgets): checked once, before anything is stored or created; a retried
    # launch whose earlier attempt got past it (its token is stored) must not orphan that attempt's job.
    if config.budget is not None and tokens.get(job_name) is None:
        from seam.domain.budgets import check_budget  # only models with a budget pay for its imports

        check = check_budget(config, state.run_id, models, runs)
        if not check.within:
            raise BudgetExceededError(check.reason)  # the run ends SKIPPED (Finalize), nothing launched
    tokens.put(job_name, task_token, state.run_id, attempt)
    runs.update(state.run_id, status=RunStatus.TRAINING, training_job_name=job_name, team=config.team)
    output = model_output_uri(data_bucket, config.name)
    request = training_job_request(config, state.run_id, state.snapshot, role_arn, output, stage)
    return Launch(job_name, jobs.create(request))


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
    config: ModelConfig, run_id: str, snapshot: Snapshot, role_arn: str, output_uri: str, stage: str
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
        "Tags": cost_allocation_tags(config, run_id, stage),
    }
    if spec.warm_pool_keep_alive_seconds:
        request["ResourceConfig"]["KeepAlivePeriodInSeconds"] = spec.warm_pool_keep_alive_seconds
    if spec.checkpoint_s3_uri:
        request["CheckpointConfig"] = {"S3Uri": f"{spec.checkpoint_s3_uri.rstrip('/')}/{config.name}/"}
    return request


def cost_allocation_tags(config: ModelConfig, run_id: str, stage: str) -> list[dict[str, str]]:
    """The tags on a run's training job and model package: activated as cost allocation tags, they let
    Cost Explorer split the bill by team, model, run and stage."""
    tags = {"seam:model": config.name, "seam:team": config.team, "seam:run-id": run_id, "seam:stage": stage}
    return [{"Key": key, "Value": value} for key, value in tags.items() if value]


class Settlement(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HEARTBEAT = "heartbeat"
    ALREADY_SETTLED = "already_settled"
    NOT_OURS = "not_ours"  # a job Seam did not start (no token record)
    WAITING = "waiting"  # still starting or stopping: nothing to do yet


TERMINAL_JOB_STATUSES = {"Completed", "Failed", "Stopped"}


@dataclass
class TrainingSettler:
    tokens: TokenStore
    runs: RunStore
    workflow: Workflow
    # Who settles (the SQS message id of the event, "reconciler"): a claim applied by an attempt whose
    # answer was lost is this claimant's to finish (Step Functions rejects a second settlement).
    claimant: str | None = None

    def settle(self, job_name: str, describe: Callable[[str], dict[str, Any] | None]) -> Settlement:
        """Settle `job_name`'s token from DescribeTrainingJob (the truth; events are only hints).
        The job is described only when Seam holds an unsettled token for it: duplicates, late events and
        jobs Seam did not start cost one read."""
        token = self.tokens.get(job_name)
        if token is None:
            return Settlement.NOT_OURS
        # A settled token is someone else's, or ours and already sent; only our own claim whose send
        # never completed (a lost response, a crash) is ours to finish.
        if token.settled and (token.sent or not (self.claimant and token.claimed_by == self.claimant)):
            return Settlement.ALREADY_SETTLED
        return self._act(token, job_name, describe(job_name))

    def _act(self, token: TokenRecord, job_name: str, description: dict[str, Any] | None) -> Settlement:
        if description is None:
            return self._fail(token, "TrainingJobNotFound", f"training job {job_name} does not exist")
        status = description["TrainingJobStatus"]
        if status == "InProgress":
            if self.workflow.heartbeat(token.task_token):
                # News of the run: the reconciler checks it again only after `stale_after` more.
                self._record(token.run_id, heartbeat_at=utc_now())
            return Settlement.HEARTBEAT
        if status not in TERMINAL_JOB_STATUSES:
            return Settlement.WAITING
        if status == "Completed":
            return self._succeed(token, result_from(description))
        reason = description.get("FailureReason") or f"training job ended {status}"
        return self._fail(token, f"Training{status}", f"{job_name}: {reason}")

    def _succeed(self, token: TokenRecord, result: TrainingResult) -> Settlement:
        if not self.tokens.claim(token.training_job_name, "success", self.claimant):
            return Settlement.ALREADY_SETTLED
        self._record(token.run_id, metrics=result.metrics)
        return self._send(
            token,
            lambda: self.workflow.succeed(token.task_token, result.model_dump(mode="json")),
            Settlement.SUCCEEDED,
        )

    def _fail(self, token: TokenRecord, error: str, cause: str) -> Settlement:
        if not self.tokens.claim(token.training_job_name, "failure", self.claimant):
            return Settlement.ALREADY_SETTLED
        return self._send(
            token, lambda: self.workflow.fail(token.task_token, error, cause), Settlement.FAILED
        )

    def _send(self, token: TokenRecord, send: Any, outcome: Settlement) -> Settlement:
        try:
            sent = send()
        except Exception:
            # Give the claim back so the redelivered event (or the reconciler) can settle it.
            self.tokens.unclaim(token.training_job_name)
            raise
        # TaskTimedOut / InvalidToken: the workflow already moved on, so the token counts as settled.
        self.tokens.mark_sent(token.training_job_name)
        return outcome if sent else Settlement.ALREADY_SETTLED

    def _record(self, run_id: str, **fields: Any) -> None:
        # The run may have ended already (e.g. timed out): a late result changes nothing.
        with suppress(StaleUpdateError):
            self.runs.update(run_id, **fields)


@dataclass
class OrphanedJobs:
    """Training jobs nobody waits for any more. A run that ends with its task token unsettled (it timed
    out, a state after CreateTrainingJob failed, its execution was aborted or ended without Finalize)
    leaves its job running to its max runtime, while the model's next run starts a second job."""

    tokens: TokenStore
    training: TrainingJobs

    def stop(self, run_id: str) -> JobStop | None:
        """Stop `run_id`'s job if its token is unsettled (the job name is the run id). None when there
        is nothing to stop: no token (the run never launched one) or a settled token (the job ended and
        its result was delivered: tokens are claimed only for ended jobs)."""
        token = self.tokens.get(run_id)
        if token is None or token.settled:
            return None
        return self.training.stop(token.training_job_name)


def result_from(description: dict[str, Any]) -> TrainingResult:
    metrics = {m["MetricName"]: float(m["Value"]) for m in description.get("FinalMetricDataList", [])}
    return TrainingResult(
        job_name=description["TrainingJobName"],
        status="Completed",
        metrics=metrics,
        model_artifact_uri=description["ModelArtifacts"]["S3ModelArtifacts"],
        image=description["AlgorithmSpecification"]["TrainingImage"],
        billable_seconds=description.get("BillableTimeInSeconds"),
        training_seconds=description.get("TrainingTimeInSeconds"),
    )
