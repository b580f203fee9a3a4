"""Training: launching a run's job (token first), the CreateTrainingJob request, settling a job's task
token, and stopping the jobs nobody waits for any more (the wait limits are in training_limits.py).

The callback settles through `settle`, for SageMaker's events and for the reconciler's checks of quiet
trainings alike, so a lost, duplicated or late event can never settle a token twice or overwrite a
terminal status.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from seam.adapters.dynamodb.runs import RunStore
from seam.domain.orphaned_jobs import is_scoring
from seam.errors import (
    BudgetExceededError,
    ForeignTrainingJobError,
    StaleUpdateError,
    TrainingError,
    TransientError,
)
from seam.models.run import RunStatus, utc_now
from seam.models.training_result import TrainingResult

# Named for the signatures only: each function loads the adapters it uses, as LaunchTraining loads
# the model config.
if TYPE_CHECKING:
    from seam.adapters.dynamodb.models import ModelStore
    from seam.adapters.dynamodb.tokens import TokenRecord, TokenStore
    from seam.adapters.sagemaker import TrainingJobs
    from seam.adapters.workflow import Workflow
    from seam.models.snapshot import Snapshot
    from seam.models.training_config import TrainingConfig
    from seam.models.views.training import TrainingState


class Launch(NamedTuple):
    training_job_name: str
    created: bool  # False: the job existed already (a retried launch)


# Who claims the token of a run whose job name is held by a foreign job: nobody settles it from that
# job, and no orphan sweep stops a job that is not Seam's.
FOREIGN_JOB_CLAIMANT = "foreign-job"


class JobIdentity(NamedTuple):
    """The training job a run would have created: what it proves before it treats a job as its own.
    (A NamedTuple, like the token it is stored with: no dataclass machinery at cold start.)"""

    run_id: str
    stage: str
    role_arn: str
    image: str  # the model config's, pinned by digest
    output_uri: str  # S3OutputPath: the job writes <output_uri><job name>/output/model.tar.gz

    def stored(self) -> dict[str, str]:
        return {
            "role_arn": self.role_arn,
            "image": self.image,
            "output_uri": self.output_uri,
            "stage": self.stage,
        }

    @classmethod
    def from_token(cls, token: TokenRecord) -> JobIdentity | None:
        """What the token's launch stored; None when it stored nothing usable (adopt nothing then)."""
        stored = token.expected or {}
        fields = [stored.get(k) for k in ("stage", "role_arn", "image", "output_uri")]
        if not all(isinstance(f, str) and f for f in fields):
            return None
        return cls(token.run_id, *fields)

    def mismatches(self, description: dict[str, Any], tags: dict[str, str]) -> list[str]:
        """Why the described job is not this run's own (empty: it is): role, image digest, output path,
        artifact under the run's own prefix, Seam's stage and run tags."""
        found: list[str] = []
        role = description.get("RoleArn")
        if role != self.role_arn:
            found.append(f"role {role} ≠ Seam's {self.role_arn}")
        image = (description.get("AlgorithmSpecification") or {}).get("TrainingImage")
        if image != self.image:
            found.append(f"image {image} ≠ config {self.image}")
        output = (description.get("OutputDataConfig") or {}).get("S3OutputPath") or ""
        if output.rstrip("/") != self.output_uri.rstrip("/"):
            found.append(f"output {output or None} ≠ the run's {self.output_uri}")
        artifact = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        own_prefix = f"{self.output_uri.rstrip('/')}/{self.run_id}/"
        if artifact is not None and not artifact.startswith(own_prefix):
            found.append(f"artifact {artifact} not under the run's {own_prefix}")
        for key, want in (("seam:stage", self.stage), ("seam:run-id", self.run_id)):
            if tags.get(key) != want:
                found.append(f"tag {key}={tags.get(key)!r} ≠ {want!r}")
        return found


class OwnJobCheck(Protocol):
    """What a run proves of a job before it treats it as its own (JobIdentity, ScoringIdentity)."""

    @property
    def run_id(self) -> str: ...

    def mismatches(self, description: dict[str, Any], tags: dict[str, str]) -> list[str]: ...


def foreign_job_cause(kind: str, job_name: str, run_id: str, found: list[str]) -> str:
    """Why a job holding the run's name is not the run's own: every difference, named."""
    return f"{kind} job {job_name} is not run {run_id}'s: " + "; ".join(found)


def refuse_foreign_job(
    kind: str,
    job_name: str,
    identity: OwnJobCheck,
    description: dict[str, Any],
    tags: dict[str, str],
    tokens: TokenStore,
) -> None:
    """A job already holds the run's name: adopt it only if it is the job this run would have created
    (`identity`: a JobIdentity, or champion scoring's ScoringIdentity). A foreign one fails the run
    (ForeignTrainingJobError) with the run's token claimed, so no event of that job settles the run
    and no orphan sweep stops a job that is not Seam's."""
    found = identity.mismatches(description, tags)
    if found:
        tokens.claim(job_name, "failure", FOREIGN_JOB_CLAIMANT)
        raise ForeignTrainingJobError(foreign_job_cause(kind, job_name, identity.run_id, found))


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


class Settlement(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HEARTBEAT = "heartbeat"
    ALREADY_SETTLED = "already_settled"
    NOT_OURS = "not_ours"  # a job Seam did not start (no token record)
    WAITING = "waiting"  # still starting or stopping: nothing to do yet


TERMINAL_JOB_STATUSES = {"Completed", "Failed", "Stopped"}


class TrainingSettler:
    def __init__(
        self,
        tokens: TokenStore,
        runs: RunStore,
        workflow: Workflow,
        # A job's tags by its ARN (ListTags): a completed job is adopted only when it is the run's own.
        tags_of: Callable[[str], dict[str, str]],
        # Who settles (the SQS message id of the event, "reconciler"): a claim applied by an attempt
        # whose answer was lost is this claimant's to finish (Step Functions rejects a second settlement).
        claimant: str | None = None,
    ) -> None:
        self.tokens, self.runs, self.workflow = tokens, runs, workflow
        self.tags_of, self.claimant = tags_of, claimant

    def settle(
        self,
        job_name: str,
        describe: Callable[[str], dict[str, Any] | None],
        describe_scoring: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> Settlement:
        """Settle `job_name`'s token from DescribeTrainingJob (the truth; events are only hints), or from
        DescribeProcessingJob (`describe_scoring`) when the token is a champion scoring job's
        (seam.domain.champion_scoring). The job is described only when Seam holds an unsettled token for
        it: duplicates, late events and jobs Seam did not start cost one read."""
        token = self.tokens.get(job_name)
        if token is None:
            return Settlement.NOT_OURS
        # A settled token is someone else's, or ours and already sent; only our own claim whose send
        # never completed (a lost response, a crash) is ours to finish.
        if token.settled and (token.sent or not (self.claimant and token.claimed_by == self.claimant)):
            return Settlement.ALREADY_SETTLED
        if is_scoring(token):
            if describe_scoring is None:
                raise TrainingError(
                    f"{job_name} is a processing job: settling it needs DescribeProcessingJob"
                )
            return self._act_scoring(token, job_name, describe_scoring(job_name))
        return self._act(token, job_name, describe(job_name))

    def _act_scoring(
        self, token: TokenRecord, job_name: str, description: dict[str, Any] | None
    ) -> Settlement:
        """A champion scoring job: the same statuses as a training job's; a completed job is adopted
        only when it is the run's own, a failed one ends the run as ChampionUnscorableError."""
        from seam.domain.champion_scoring import ScoringIdentity, scoring_result

        if description is None:
            return self._fail(token, "ChampionUnscorableError", f"processing job {job_name} does not exist")
        status = description["ProcessingJobStatus"]
        if status not in TERMINAL_JOB_STATUSES:
            return self._heartbeat(token) if status == "InProgress" else Settlement.WAITING
        if status != "Completed":
            why = description.get("ExitMessage") or description.get("FailureReason") or f"ended {status}"
            error = "ChampionUnscorableError" if status == "Failed" else "ChampionScoringStopped"
            return self._fail(token, error, f"processing job {job_name} scoring the champion: {why}")
        identity = ScoringIdentity.from_token(token)
        foreign = self._foreign(token, identity, "processing", job_name, description, "ProcessingJobArn")
        return foreign or self._send_success(token, scoring_result(description).model_dump(mode="json"), {})

    def _heartbeat(self, token: TokenRecord) -> Settlement:
        if self.workflow.heartbeat(token.task_token):
            # News of the run: the reconciler checks it again only after `stale_after` more.
            self._record(token.run_id, heartbeat_at=utc_now())
        return Settlement.HEARTBEAT

    def _act(self, token: TokenRecord, job_name: str, description: dict[str, Any] | None) -> Settlement:
        if description is None:
            return self._fail(token, "TrainingJobNotFound", f"training job {job_name} does not exist")
        status = description["TrainingJobStatus"]
        if status == "InProgress":
            return self._heartbeat(token)
        if status not in TERMINAL_JOB_STATUSES:
            return Settlement.WAITING
        if status == "Completed":
            return self._adopt(token, description)
        reason = description.get("FailureReason") or f"training job ended {status}"
        return self._fail(token, f"Training{status}", f"{job_name}: {reason}")

    def _adopt(self, token: TokenRecord, description: dict[str, Any]) -> Settlement:
        """Succeed with the job's result only when it is the job the run created (JobIdentity)."""
        identity = JobIdentity.from_token(token)
        job_name = token.training_job_name
        foreign = self._foreign(token, identity, "training", job_name, description, "TrainingJobArn")
        return foreign or self._succeed(token, result_from(description))

    def _foreign(
        self,
        token: TokenRecord,
        identity: OwnJobCheck | None,
        kind: str,
        job_name: str,
        description: dict[str, Any],
        arn: str,
    ) -> Settlement | None:
        """The run's failure when the completed job is not the one it created (None: it is its own)."""
        if identity is None:
            cause = f"run {token.run_id} kept no record of the job it created"
            return self._fail(token, "ForeignTrainingJobError", cause)
        found = identity.mismatches(description, self.tags_of(description[arn]))
        if found:
            cause = foreign_job_cause(kind, job_name, token.run_id, found)
            return self._fail(token, "ForeignTrainingJobError", cause)
        return None

    def _succeed(self, token: TokenRecord, result: TrainingResult) -> Settlement:
        return self._send_success(token, result.model_dump(mode="json"), {"metrics": result.metrics})

    def _send_success(self, token: TokenRecord, output: dict[str, Any], record: dict[str, Any]) -> Settlement:
        if not self.tokens.claim(token.training_job_name, "success", self.claimant):
            return Settlement.ALREADY_SETTLED
        if record:
            self._record(token.run_id, **record)
        return self._send(
            token, lambda: self.workflow.succeed(token.task_token, output), Settlement.SUCCEEDED
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
