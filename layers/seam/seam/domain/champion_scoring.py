"""Scoring a champion of another image digest: a SageMaker Processing job of the champion's own image runs
its `evaluate` entry point on the run's holdout (examples/churn/README.md "Evaluation"), before training.

When the champion was trained by the challenger's image digest, the training job scores both models (no
extra job start). When the digests differ, the challenger's code cannot be trusted to read the champion's
artifact, so Validate sets `score_champion` and the workflow's ScoreChampion state (DataChanged chooses
it; the happy path takes no extra state) launches this job with a task token, like LaunchTraining:

- the job's name comes from the run id (`scoring_job_name`: the stage in it, at most 63 characters); its
  token is stored under that name, before CreateProcessingJob, with what the job must be
  (`ScoringIdentity`: role, image, inputs, output, stage and run tags): a job already holding the name
  is adopted only when it matches, and the callback adopts a completed job's result only then;
- inputs: the champion's model.tar.gz (`/opt/ml/processing/model`) and the run's holdout folder
  (`/opt/ml/processing/holdout`); output: `/opt/ml/processing/evaluation/predictions.csv`, uploaded to
  `runs/<run>/champion/` when the job ends;
- hardened as training jobs are: network isolation (scoring needs no network, whatever the model's
  training allows), the stack's key for the ML volume and the output, encrypted inter-container
  traffic, Seam's cost-allocation tags; MaxRuntimeInSeconds `SCORING_MAX_RUNTIME_SECONDS` (IAM caps it
  too: sagemaker:MaxRuntimeInSeconds);
- the training callback settles it (SageMaker "Processing Job State Change" events and the reconciler's
  checks, one queue), a failed job ending the run with `ChampionUnscorableError` and its ExitMessage.

Scoring comes before training, not after: a champion that cannot be scored ends the run before a
training job is paid for, and the run waits on one job at a time (one token, one orphan to stop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from seam.adapters.dynamodb.runs import RunStore
from seam.domain.job_identity import refuse_foreign_job
from seam.domain.training import Launch, refuse_over_budget
from seam.domain.training_limits import SCORING_MAX_RUNTIME_SECONDS
from seam.errors import TrainingError, TransientError
from seam.models.run import NAME_MAX, RunStatus
from seam.models.snapshot import Holdout
from seam.models.training_result import ChampionScoring

if TYPE_CHECKING:
    from seam.adapters.dynamodb.models import ModelStore
    from seam.adapters.dynamodb.tokens import TokenRecord, TokenStore
    from seam.adapters.sagemaker import TrainingJobs
    from seam.models.snapshot import ChampionArtifact
    from seam.models.training_config import TrainingConfig
    from seam.models.views.training import TrainingState

SCORING_SUFFIX = "-champion"
SCORING_KIND = "processing"  # the token's kind: the job behind it is a Processing job
PROCESSING = "/opt/ml/processing"
MODEL_PATH, HOLDOUT_PATH = f"{PROCESSING}/model", f"{PROCESSING}/holdout"
OUTPUT_PATH, PREDICTIONS_FILE = f"{PROCESSING}/evaluation", "predictions.csv"


def scoring_job_name(run_id: str) -> str:
    """`<run id>-champion`, deterministic (a retried launch cannot start a second job), at most 63
    characters: when the run id leaves no room, its model part is cut, never its stage prefix or its
    digest (run ids are `seam-<stage>-<model>-<digest>`)."""
    if len(run_id) + len(SCORING_SUFFIX) <= NAME_MAX:
        return run_id + SCORING_SUFFIX
    head, _, digest = run_id.rpartition("-")
    cut = head[: NAME_MAX - len(SCORING_SUFFIX) - len(digest) - 1].rstrip("-")
    return f"{cut}-{digest}{SCORING_SUFFIX}"


def scoring_output_uri(data_bucket: str, run_id: str) -> str:
    return f"s3://{data_bucket}/runs/{run_id}/champion/"


class ScoringIdentity(NamedTuple):
    """The Processing job a run would have created: what a job must match before Seam adopts it."""

    run_id: str
    stage: str
    role_arn: str
    image: str  # the champion's image, by digest
    model_uri: str  # the champion's model.tar.gz
    holdout_uri: str  # the run's holdout folder
    output_uri: str  # runs/<run>/champion/

    def stored(self) -> dict[str, str]:
        return {"kind": SCORING_KIND, **self._asdict()}

    @classmethod
    def from_token(cls, token: TokenRecord) -> ScoringIdentity | None:
        stored = token.expected or {}
        fields = [stored.get(name) for name in cls._fields[1:]]
        if stored.get("run_id") != token.run_id or not all(isinstance(f, str) and f for f in fields):
            return None
        return cls(token.run_id, *fields)

    def mismatches(self, description: dict[str, Any], tags: dict[str, str]) -> list[str]:
        """Why the described job is not this run's own (empty: it is)."""
        found: list[str] = []
        if description.get("RoleArn") != self.role_arn:
            found.append(f"role {description.get('RoleArn')} ≠ Seam's {self.role_arn}")
        image = (description.get("AppSpecification") or {}).get("ImageUri")
        if image != self.image:
            found.append(f"image {image} ≠ the champion's {self.image}")
        inputs = {
            i.get("InputName"): (i.get("S3Input") or {}).get("S3Uri")
            for i in description.get("ProcessingInputs") or []
        }
        if inputs != {"model": self.model_uri, "holdout": self.holdout_uri}:
            found.append(f"inputs {inputs} ≠ the champion's model and the run's holdout")
        outputs = [
            (o.get("S3Output") or {}).get("S3Uri", "").rstrip("/")
            for o in (description.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        ]
        if outputs != [self.output_uri.rstrip("/")]:
            found.append(f"outputs {outputs} ≠ the run's {self.output_uri}")
        for key, want in (("seam:stage", self.stage), ("seam:run-id", self.run_id)):
            if tags.get(key) != want:
                found.append(f"tag {key}={tags.get(key)!r} ≠ {want!r}")
        return found


def identity_for(
    run_id: str, stage: str, role_arn: str, holdout: Holdout, champion: ChampionArtifact, data_bucket: str
) -> ScoringIdentity:
    return ScoringIdentity(
        run_id,
        stage,
        role_arn,
        champion.image,
        champion.model_artifact_uri,
        holdout.uri.rsplit("/", 1)[0] + "/",
        scoring_output_uri(data_bucket, run_id),
    )


def _input(name: str, uri: str, path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def processing_job_request(config: TrainingConfig, identity: ScoringIdentity, key_arn: str) -> dict[str, Any]:
    """CreateProcessingJob for the champion's `evaluate` entry point, hardened (see the module)."""
    if not key_arn:
        raise TrainingError("no key (SEAM_TRAINING_KEY_ARN): Seam creates no unencrypted processing job")
    arguments = ["evaluate", "--model", MODEL_PATH, "--data", HOLDOUT_PATH]
    return {
        "ProcessingJobName": scoring_job_name(identity.run_id),
        "RoleArn": identity.role_arn,
        "AppSpecification": {
            "ImageUri": identity.image,
            "ContainerArguments": [*arguments, "--output", f"{OUTPUT_PATH}/{PREDICTIONS_FILE}"],
        },
        "ProcessingInputs": [
            _input("model", identity.model_uri, MODEL_PATH),
            _input("holdout", identity.holdout_uri, HOLDOUT_PATH),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "predictions",
                    "S3Output": {
                        "S3Uri": identity.output_uri,
                        "LocalPath": OUTPUT_PATH,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": key_arn,
        },
        # The model's training hardware, one instance: what its image was built to run on.
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": config.training.instance_type,
                "VolumeSizeInGB": config.training.volume_size_gb,
                "VolumeKmsKeyId": key_arn,
            }
        },
        "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True},
        "StoppingCondition": {"MaxRuntimeInSeconds": SCORING_MAX_RUNTIME_SECONDS},
        "Tags": config.cost_tags(identity.run_id, identity.stage),
    }


def launch_scoring(
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
    """The ScoreChampion state: the task token under the job's name first (with the job the run
    expects), the run SCORING, then CreateProcessingJob; a job already holding the name is adopted only
    when it is the run's own."""
    holdout = state.snapshot.holdout if state.snapshot else None
    if holdout is None or holdout.champion is None or holdout.champion.scored_in_training:
        raise TrainingError(f"run {state.run_id} has no champion of another image to score")
    config = models.training(state.model)
    identity = identity_for(state.run_id, stage, role_arn, holdout, holdout.champion, data_bucket)
    name = scoring_job_name(state.run_id)
    # The run's budget is checked before its first paid job, this one: over budget, nothing is scored.
    refuse_over_budget(config, state.run_id, name, models, tokens, runs)
    tokens.put(name, task_token, state.run_id, attempt, expected=identity.stored())
    runs.update(state.run_id, status=RunStatus.SCORING, champion_scoring_job_name=name, team=config.team)
    if jobs.create_processing(processing_job_request(config, identity, key_arn)):
        return Launch(name, created=True)
    description = jobs.describe_processing(name)
    if description is None:  # the name is taken but not yet readable
        raise TransientError(f"processing job {name} exists but cannot be described yet")
    tags = jobs.tags(description["ProcessingJobArn"])
    refuse_foreign_job("processing", name, identity, description, tags, tokens)
    return Launch(name, created=False)


def scoring_result(description: dict[str, Any]) -> ChampionScoring:
    """SendTaskSuccess's output for a completed scoring job (DescribeProcessingJob)."""
    (output,) = description["ProcessingOutputConfig"]["Outputs"]
    return ChampionScoring(
        job_name=description["ProcessingJobName"],
        image=description["AppSpecification"]["ImageUri"],
        predictions_uri=output["S3Output"]["S3Uri"].rstrip("/") + "/" + PREDICTIONS_FILE,
        billable_seconds=processing_seconds(description),
    )


def processing_seconds(description: dict[str, Any]) -> int | None:
    """ProcessingStartTime -> ProcessingEndTime in whole seconds, rounded up: DescribeProcessingJob
    reports no BillableTimeInSeconds, and this is the instance time the job ran."""
    start, end = description.get("ProcessingStartTime"), description.get("ProcessingEndTime")
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    return max(0, -int(-seconds // 1))
