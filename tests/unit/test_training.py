"""Training: wait limits, the CreateTrainingJob request, and settling a job's task token exactly once."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from seam.adapters.workflow import Workflow
from seam.dependencies import Dependencies
from seam.domain.job_identity import FOREIGN_JOB_CLAIMANT, JobIdentity
from seam.domain.settlement import Settlement, TrainingSettler, result_from
from seam.domain.training import adopt_existing_job, hardened, input_channels, training_job_request
from seam.domain.training_limits import (
    HEARTBEAT_SLACK_SWEEPS,
    RECONCILER_PERIOD_SECONDS,
    START_MARGIN_SECONDS,
    limits_for,
)
from seam.errors import ForeignTrainingJobError, TrainingError, TransientError
from seam.models.run import (
    ChampionArtifact,
    DatasetRef,
    Holdout,
    Run,
    RunStatus,
    Snapshot,
    TrainingLimits,
    TriggerKind,
)

from tests.unit.conftest import IMAGE, Faults, RecordingWorkflow, model_config

pytestmark = pytest.mark.tables("RunsTable", "TaskTokensTable")

RUN_ID = "seam-unit-churn-0123456789ab"
ROLE = "arn:aws:iam::123456789012:role/seam-unit-SageMakerTrainingRole"
OUTPUT = "s3://seam-unit-data/models/churn/"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{RUN_ID}"
IDENTITY = JobIdentity(run_id=RUN_ID, stage="unit", role_arn=ROLE, image=IMAGE, output_uri=OUTPUT)
OWN_TAGS = {"seam:model": "churn", "seam:run-id": RUN_ID, "seam:stage": "unit"}
OTHER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "b" * 64
TOKEN = "token-of-launch-training"
ARTIFACT = f"s3://seam-unit-data/models/churn/{RUN_ID}/output/model.tar.gz"
DATASET = DatasetRef(
    bucket="seam-unit-data", key="datasets/churn/2026-11-22.csv", version_id="v1", etag="e", size=10
)
SNAPSHOT = Snapshot(source=DATASET, train_uri=f"s3://seam-unit-data/runs/{RUN_ID}/train/2026-11-22.csv")


def training(**overrides: Any) -> dict[str, Any]:
    return {
        "image": IMAGE,
        "max_runtime_seconds": 3600,
        "metric_definitions": {"validation:auc": r"validation:auc=([0-9\.]+)"},
        **overrides,
    }


# -- limits_for ----------------------------------------------------------------------------------------------


STALE_AFTER = 1800  # SEAM_TRAINING_STALE_AFTER_SECONDS' default


@pytest.mark.parametrize(
    ("spec", "timeout", "heartbeat"),
    [
        ({"max_runtime_seconds": 60}, 60 + 1800, 60 + 1800 - 1),  # below the timeout, never tighter
        ({"max_runtime_seconds": 3600}, 3600 + 1800, 1800 + 6 * 300),  # the reconciler's check + 6 sweeps
        ({"max_runtime_seconds": 7200}, 7200 + 1800, 1800 + 6 * 300),
        ({"max_runtime_seconds": 14400}, 14400 + 1800, 3600),
        ({"max_runtime_seconds": 28800}, 28800 + 1800, 7200),  # a quarter of the runtime
        ({"max_runtime_seconds": 28 * 24 * 3600}, 28 * 24 * 3600 + 1800, 7 * 24 * 3600),
        ({"max_runtime_seconds": 3600, "use_spot": True, "max_wait_seconds": 14400}, 14400 + 1800, 3600),
    ],
)
def test_limits_are_the_runtime_plus_the_start_margin_and_a_clamped_heartbeat(
    spec: dict[str, Any], timeout: int, heartbeat: int
) -> None:
    limits = limits_for(model_config(training=training(**spec)).training, STALE_AFTER)

    assert limits == TrainingLimits(timeout_seconds=timeout, heartbeat_seconds=heartbeat)
    assert START_MARGIN_SECONDS == 1800
    assert limits.heartbeat_seconds < limits.timeout_seconds  # ASL: HeartbeatSeconds < TimeoutSeconds


@pytest.mark.parametrize("stale_after", [60, 900, 1800, 7200])
@pytest.mark.parametrize("runtime", [60, 600, 1800, 3600, 7200, 14400, 86400])
def test_a_healthy_training_without_events_outlives_its_heartbeat_window_through_the_reconciler(
    runtime: int, stale_after: int
) -> None:
    """SageMaker sends no event during a long Training phase. The reconciler has a run checked once it
    has been `stale_after` seconds without news, at its next sweep (<= 5 min later); the heartbeat is
    news, so the next check comes `stale_after` after it. The window must outlast that, with sweeps to
    spare for a backlog or a failed sweep, or the timeout must come first."""
    limits = limits_for(model_config(training=training(max_runtime_seconds=runtime)).training, stale_after)
    next_check = stale_after + RECONCILER_PERIOD_SECONDS
    spare_sweeps = (limits.heartbeat_seconds - next_check) // RECONCILER_PERIOD_SECONDS
    assert (
        spare_sweeps >= HEARTBEAT_SLACK_SWEEPS - 1 or limits.heartbeat_seconds == limits.timeout_seconds - 1
    )
    assert HEARTBEAT_SLACK_SWEEPS - 1 >= 3  # e.g. a third of the quiet runs per sweep, and one sweep lost


def test_a_warm_pool_does_not_change_the_limits() -> None:
    warm = model_config(training=training(warm_pool_keep_alive_seconds=900)).training
    assert limits_for(warm, STALE_AFTER) == limits_for(
        model_config(training=training()).training, STALE_AFTER
    )


# -- training_job_request ------------------------------------------------------------------------------------


def request(**spec: Any) -> dict[str, Any]:
    return training_job_request(
        model_config(training=training(**spec)),
        RUN_ID,
        SNAPSHOT,
        "arn:aws:iam::123456789012:role/seam-unit-SageMakerTrainingRole",
        "s3://seam-unit-data/models/churn/",
        "unit",
    )


def test_the_job_is_named_by_the_run_id_so_a_retried_launch_cannot_start_a_second_job() -> None:
    assert request()["TrainingJobName"] == RUN_ID
    assert request() == request()


def test_the_request_trains_the_pinned_image_on_the_runs_dataset() -> None:
    job = request(
        instance_type="ml.g5.xlarge", instance_count=2, volume_size_gb=100, hyperparameters={"C": "1.0"}
    )

    assert job["AlgorithmSpecification"] == {
        "TrainingImage": IMAGE,
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9\.]+)"}],
    }
    # The run's own snapshot folder, never the dataset's key as a prefix (a.csv.bak would match it).
    assert job["InputDataConfig"] == [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://seam-unit-data/runs/{RUN_ID}/train/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
    ]
    assert job["OutputDataConfig"] == {"S3OutputPath": "s3://seam-unit-data/models/churn/"}
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/seam-unit-SageMakerTrainingRole"
    assert job["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 2,
        "VolumeSizeInGB": 100,
    }
    assert job["HyperParameters"] == {"C": "1.0"}


def test_the_request_is_tagged_with_model_team_run_id_and_stage() -> None:
    assert request()["Tags"] == [
        {"Key": "seam:model", "Value": "churn"},
        {"Key": "seam:team", "Value": "growth"},
        {"Key": "seam:run-id", "Value": RUN_ID},
        {"Key": "seam:stage", "Value": "unit"},
    ]


def test_a_warm_pool_sets_keep_alive_and_an_on_demand_stopping_condition() -> None:
    job = request(warm_pool_keep_alive_seconds=900)

    assert job["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 900
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert job["EnableManagedSpotTraining"] is False


def test_without_a_warm_pool_or_checkpoints_neither_is_requested() -> None:
    job = request()

    assert "KeepAlivePeriodInSeconds" not in job["ResourceConfig"]
    assert "CheckpointConfig" not in job


def test_spot_training_waits_up_to_max_wait_and_checkpoints_per_model() -> None:
    job = request(use_spot=True, max_wait_seconds=7200, checkpoint_s3_uri="s3://seam-unit-data/checkpoints/")

    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert job["CheckpointConfig"] == {"S3Uri": "s3://seam-unit-data/checkpoints/unit/churn/"}


# -- result_from ---------------------------------------------------------------------------------------------


def description(status: str = "Completed", **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": RUN_ID,
        "TrainingJobArn": JOB_ARN,
        "TrainingJobStatus": status,
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": OUTPUT},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "ModelArtifacts": {"S3ModelArtifacts": ARTIFACT},
        "FinalMetricDataList": [
            {"MetricName": "validation:auc", "Value": 0.91, "Timestamp": datetime(2026, 11, 22)},
            {"MetricName": "validation:accuracy", "Value": 1, "Timestamp": datetime(2026, 11, 22)},
        ],
        "BillableTimeInSeconds": 42,
        "TrainingTimeInSeconds": 40,
        **extra,
    }


def test_the_result_carries_final_metrics_artifact_image_and_seconds() -> None:
    result = result_from(description())

    assert result.model_dump() == {
        "job_name": RUN_ID,
        "status": "Completed",
        "metrics": {"validation:auc": 0.91, "validation:accuracy": 1.0},
        "model_artifact_uri": ARTIFACT,
        "image": IMAGE,
        "billable_seconds": 42,
        "training_seconds": 40,
    }


# -- TrainingSettler (real token and run stores on moto) -----------------------------------------------------


@pytest.fixture
def launched(deps: Dependencies) -> Dependencies:
    """What LaunchTraining leaves behind: a TRAINING run and its stored task token."""
    deps.runs.create(Run(run_id=RUN_ID, model="churn", trigger=TriggerKind.DATA, dataset=DATASET))
    deps.tokens.put(RUN_ID, TOKEN, RUN_ID, expected=IDENTITY.stored())
    deps.runs.update(RUN_ID, status=RunStatus.TRAINING, training_job_name=RUN_ID)
    return deps


@pytest.fixture
def workflow() -> RecordingWorkflow:
    return RecordingWorkflow()


def settler(deps: Dependencies, workflow: Any) -> TrainingSettler:
    return TrainingSettler(deps.tokens, deps.runs, workflow, own_tags)


def own_tags(arn: str) -> dict[str, str]:
    assert arn == JOB_ARN
    return dict(OWN_TAGS)


def settled(deps: Dependencies) -> str | None:
    token = deps.tokens.get(RUN_ID)
    assert token is not None
    return token.settled


def test_a_completed_job_succeeds_the_token_once_with_the_described_result(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    outcome = settler(launched, workflow).settle(RUN_ID, lambda _: description())

    assert outcome is Settlement.SUCCEEDED
    assert workflow.sent == [("success", TOKEN, result_from(description()).model_dump(mode="json"))]
    assert settled(launched) == "success"
    run = launched.runs.get(RUN_ID)
    assert run is not None and run.metrics == {"validation:auc": 0.91, "validation:accuracy": 1.0}


@pytest.mark.parametrize(
    "second", [description(), description("Failed", FailureReason="late"), description("InProgress")]
)
def test_any_later_event_for_a_settled_job_is_already_settled_and_sends_nothing(
    launched: Dependencies, workflow: RecordingWorkflow, second: dict[str, Any]
) -> None:
    settler(launched, workflow).settle(RUN_ID, lambda _: description())

    assert settler(launched, workflow).settle(RUN_ID, lambda _: second) is Settlement.ALREADY_SETTLED
    assert len(workflow.sent) == 1
    assert settled(launched) == "success"


def test_the_same_claimant_sends_again_only_a_settlement_that_never_reached_step_functions(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    reconciler = TrainingSettler(launched.tokens, launched.runs, workflow, own_tags, claimant="reconciler")
    assert reconciler.settle(RUN_ID, lambda _: description()) is Settlement.SUCCEEDED

    # The next sweep finds the run still TRAINING (the workflow has not moved yet): nothing to resend.
    assert reconciler.settle(RUN_ID, lambda _: description()) is Settlement.ALREADY_SETTLED
    assert len(workflow.sent) == 1


def test_a_claim_whose_send_never_happened_is_finished_by_the_same_claimant(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    launched.tokens.claim(RUN_ID, "success", "reconciler")  # then the sweep crashed before sending
    reconciler = TrainingSettler(launched.tokens, launched.runs, workflow, own_tags, claimant="reconciler")

    assert reconciler.settle(RUN_ID, lambda _: description()) is Settlement.SUCCEEDED
    assert len(workflow.sent) == 1
    token = launched.tokens.get(RUN_ID)
    assert token is not None and token.sent


@pytest.mark.parametrize(
    ("job", "error", "cause"),
    [
        (
            description("Failed", FailureReason="AlgorithmError: no label column 'churned'"),
            "TrainingFailed",
            f"{RUN_ID}: AlgorithmError: no label column 'churned'",
        ),
        (description("Stopped"), "TrainingStopped", f"{RUN_ID}: training job ended Stopped"),
        (None, "TrainingJobNotFound", f"training job {RUN_ID} does not exist"),
    ],
)
def test_a_failed_stopped_or_missing_job_fails_the_token_with_the_reason(
    launched: Dependencies, workflow: RecordingWorkflow, job: dict[str, Any] | None, error: str, cause: str
) -> None:
    assert settler(launched, workflow).settle(RUN_ID, lambda _: job) is Settlement.FAILED

    assert workflow.sent == [("failure", TOKEN, (error, cause))]
    assert settled(launched) == "failure"
    assert settler(launched, workflow).settle(RUN_ID, lambda _: job) is Settlement.ALREADY_SETTLED
    assert len(workflow.sent) == 1


def test_a_job_in_progress_sends_a_heartbeat_and_leaves_the_token_open(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    first = settler(launched, workflow)

    assert first.settle(RUN_ID, lambda _: description("InProgress")) is Settlement.HEARTBEAT
    assert first.settle(RUN_ID, lambda _: description("InProgress")) is Settlement.HEARTBEAT
    assert settled(launched) is None
    assert first.settle(RUN_ID, lambda _: description()) is Settlement.SUCCEEDED
    assert [kind for kind, _, _ in workflow.sent] == ["heartbeat", "heartbeat", "success"]


def test_an_accepted_heartbeat_is_news_of_the_run_and_a_refused_one_is_not(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    before = launched.runs.get(RUN_ID)
    assert before is not None and before.heartbeat_at is None

    settler(launched, workflow).settle(RUN_ID, lambda _: description("InProgress"))
    beaten = launched.runs.get(RUN_ID)
    workflow.answer = False  # TaskTimedOut / InvalidToken: Step Functions no longer waits for it
    settler(launched, workflow).settle(RUN_ID, lambda _: description("InProgress"))

    assert beaten is not None and beaten.heartbeat_at is not None
    assert beaten.updated_at > before.updated_at  # the reconciler's stale clock starts again
    assert beaten.status is RunStatus.TRAINING
    assert launched.runs.get(RUN_ID) == beaten  # a refused heartbeat is no news


def test_a_job_stopping_is_waited_for_without_sending_anything(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    assert settler(launched, workflow).settle(RUN_ID, lambda _: description("Stopping")) is Settlement.WAITING
    assert workflow.sent == []
    assert settled(launched) is None


def test_a_job_without_a_token_is_not_ours(deps: Dependencies, workflow: RecordingWorkflow) -> None:
    assert settler(deps, workflow).settle("someone-elses-job", lambda _: description()) is Settlement.NOT_OURS
    assert workflow.sent == []


@pytest.mark.parametrize("job", [description(), description("Failed", FailureReason="boom")])
def test_a_transient_send_failure_gives_the_claim_back_so_a_retry_settles(
    launched: Dependencies, workflow: RecordingWorkflow, job: dict[str, Any]
) -> None:
    workflow.raises.append(TransientError("SendTask failed: Throttling"))

    with pytest.raises(TransientError):
        settler(launched, workflow).settle(RUN_ID, lambda _: job)
    assert settled(launched) is None
    assert workflow.sent == []

    assert settler(launched, workflow).settle(RUN_ID, lambda _: job) in (
        Settlement.SUCCEEDED,
        Settlement.FAILED,
    )
    assert len(workflow.sent) == 1
    assert settled(launched) in ("success", "failure")


@pytest.mark.parametrize(
    ("operation", "job"), [("SendTaskSuccess", description()), ("SendTaskFailure", None)]
)
def test_a_token_step_functions_no_longer_accepts_counts_as_settled(
    launched: Dependencies, faults: Faults, operation: str, job: dict[str, Any] | None
) -> None:
    real = Workflow(launched.settings.state_machine_arn)
    for number, code in enumerate(["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"], start=1):
        job_name = f"{RUN_ID}-{number}"
        launched.tokens.put(job_name, f"{TOKEN}-{number}", RUN_ID, expected=IDENTITY.stored())
        faults.fail("sfn", operation, code, times=1)

        assert settler(launched, real).settle(job_name, lambda _: job) is Settlement.ALREADY_SETTLED, code
        assert launched.tokens.get(job_name).settled in ("success", "failure")  # type: ignore[union-attr]
        # A redelivered event does not try again.
        assert settler(launched, real).settle(job_name, lambda _: job) is Settlement.ALREADY_SETTLED
        assert faults.count("sfn", operation) == number


def test_another_step_functions_error_is_a_training_error_and_gives_the_claim_back(
    launched: Dependencies, faults: Faults
) -> None:
    faults.fail("sfn", "SendTaskSuccess", "AccessDeniedException", message="not allowed")

    with pytest.raises(TrainingError, match="SendTaskSuccess failed"):
        settler(launched, Workflow(launched.settings.state_machine_arn)).settle(
            RUN_ID, lambda _: description()
        )
    assert settled(launched) is None


def test_a_late_result_for_a_run_that_already_ended_settles_without_touching_the_run(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    launched.runs.update(RUN_ID, status=RunStatus.FAILED, error="States.Timeout")

    assert settler(launched, workflow).settle(RUN_ID, lambda _: description()) is Settlement.SUCCEEDED

    run = launched.runs.get(RUN_ID)
    assert run is not None
    assert (run.status, run.error, run.metrics) == (RunStatus.FAILED, "States.Timeout", {})


def test_concurrent_settlers_of_one_job_send_exactly_one_result(
    launched: Dependencies, workflow: RecordingWorkflow, atomic_dynamodb: None
) -> None:
    barrier = threading.Barrier(10)
    outcomes: list[Settlement] = []

    def settle() -> None:
        barrier.wait()
        outcomes.append(settler(launched, workflow).settle(RUN_ID, lambda _: description()))

    threads = [threading.Thread(target=settle) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == sorted([Settlement.SUCCEEDED] + [Settlement.ALREADY_SETTLED] * 9)
    assert len(workflow.sent) == 1


def paired_snapshot(champion_image: str) -> Snapshot:
    champion = ChampionArtifact(
        version="000001",
        image=champion_image,
        model_artifact_uri="s3://seam-unit-data/models/churn/seam-churn-old/output/model.tar.gz",
        scored_in_training=champion_image == IMAGE,
    )
    holdout = Holdout(
        uri=f"s3://seam-unit-data/runs/{RUN_ID}/holdout/2026-11-22.csv",
        rows=40,
        dataset_rows=40,
        fraction=0.2,
        max_rows=20_000,
        rule="r",
        champion=champion,
    )
    return SNAPSHOT.model_copy(update={"holdout": holdout})


def test_the_same_image_scores_the_champion_in_the_training_job_through_two_more_channels() -> None:
    channels = input_channels(paired_snapshot(IMAGE))
    assert [(c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"]) for c in channels] == [
        ("train", f"s3://seam-unit-data/runs/{RUN_ID}/train/"),
        ("holdout", f"s3://seam-unit-data/runs/{RUN_ID}/holdout/"),
        ("champion", "s3://seam-unit-data/models/churn/seam-churn-old/output/model.tar.gz"),
    ]


def test_another_image_gets_the_holdout_but_not_the_champion() -> None:
    other = IMAGE.split("@")[0] + "@sha256:" + "c" * 64
    assert [c["ChannelName"] for c in input_channels(paired_snapshot(other))] == ["train", "holdout"]


# -- adopting a job: only the one the run would have created -----------------------------------------------


@pytest.mark.parametrize(
    ("change", "tags", "named"),
    [
        (
            {"AlgorithmSpecification": {"TrainingImage": OTHER_IMAGE}},
            OWN_TAGS,
            f"image {OTHER_IMAGE} ≠ config {IMAGE}",
        ),
        (
            {"RoleArn": "arn:aws:iam::123456789012:role/someone"},
            OWN_TAGS,
            "role arn:aws:iam::123456789012:role/someone",
        ),
        (
            {"OutputDataConfig": {"S3OutputPath": "s3://elsewhere/"}},
            OWN_TAGS,
            "output s3://elsewhere/ ≠ the run's",
        ),
        (
            {
                "ModelArtifacts": {
                    "S3ModelArtifacts": f"{OUTPUT}seam-unit-churn-ffffffffffff/output/model.tar.gz"
                }
            },
            OWN_TAGS,
            f"not under the run's {OUTPUT}{RUN_ID}/",
        ),
        ({}, {**OWN_TAGS, "seam:stage": "prod"}, "tag seam:stage='prod' ≠ 'unit'"),
        ({}, {}, "tag seam:run-id=None"),
    ],
)
def test_a_completed_job_that_is_not_the_runs_own_fails_the_run_with_what_differs(
    launched: Dependencies,
    workflow: RecordingWorkflow,
    change: dict[str, Any],
    tags: dict[str, str],
    named: str,
) -> None:
    foreign = TrainingSettler(launched.tokens, launched.runs, workflow, lambda _: dict(tags))

    assert foreign.settle(RUN_ID, lambda _: description(**change)) is Settlement.FAILED
    [(kind, token, (error, cause))] = workflow.sent
    assert (kind, token, error) == ("failure", TOKEN, "ForeignTrainingJobError")
    assert named in cause and cause.startswith(f"training job {RUN_ID} is not run {RUN_ID}'s: ")
    run = launched.runs.get(RUN_ID)
    assert run is not None and run.metrics == {}  # nothing of the foreign job is recorded


@pytest.mark.parametrize(
    "expected", [None, {}, {**IDENTITY.stored(), "image": ""}, {"role_arn": ROLE, "surprise": "x"}]
)
def test_a_token_without_a_whole_record_of_its_job_adopts_nothing(expected: dict[str, str] | None) -> None:
    from seam.adapters.dynamodb.tokens import TokenRecord

    assert JobIdentity.from_token(TokenRecord(RUN_ID, TOKEN, RUN_ID, expected=expected)) is None
    assert JobIdentity.from_token(TokenRecord(RUN_ID, TOKEN, RUN_ID, expected=IDENTITY.stored())) == IDENTITY


def test_a_token_that_kept_no_record_of_its_job_adopts_nothing(
    deps: Dependencies, workflow: RecordingWorkflow
) -> None:
    deps.runs.create(Run(run_id=RUN_ID, model="churn", trigger=TriggerKind.DATA, dataset=DATASET))
    deps.tokens.put(RUN_ID, TOKEN, RUN_ID)  # stored before the expected job was kept

    assert settler(deps, workflow).settle(RUN_ID, lambda _: description()) is Settlement.FAILED
    assert workflow.sent[0][2][0] == "ForeignTrainingJobError"


class _Jobs:
    """TrainingJobs whose name is already taken by `description` (with `tags`)."""

    def __init__(self, description: dict[str, Any] | None, tags: dict[str, str]) -> None:
        self.description, self._tags = description, tags

    def describe(self, name: str) -> dict[str, Any] | None:
        return self.description

    def tags(self, arn: str) -> dict[str, str]:
        return dict(self._tags)


def test_a_retried_launch_adopts_its_own_job(launched: Dependencies) -> None:
    adopt_existing_job(IDENTITY, launched.tokens, _Jobs(description("InProgress"), OWN_TAGS))  # type: ignore[arg-type]

    token = launched.tokens.get(RUN_ID)
    assert token is not None and token.settled is None


def test_a_foreign_job_holding_the_runs_name_fails_the_launch_and_is_never_settled_or_stopped(
    launched: Dependencies, workflow: RecordingWorkflow
) -> None:
    squatter = description("InProgress", AlgorithmSpecification={"TrainingImage": OTHER_IMAGE})
    with pytest.raises(ForeignTrainingJobError, match=f"image {OTHER_IMAGE} ≠ config {IMAGE}"):
        adopt_existing_job(IDENTITY, launched.tokens, _Jobs(squatter, {**OWN_TAGS, "seam:stage": "prod"}))  # type: ignore[arg-type]

    token = launched.tokens.get(RUN_ID)
    assert token is not None and (token.settled, token.claimed_by) == ("failure", FOREIGN_JOB_CLAIMANT)
    # Its events later settle nothing, and the orphan sweep does not stop it (not Seam's job).
    assert settler(launched, workflow).settle(RUN_ID, lambda _: description()) is Settlement.ALREADY_SETTLED
    assert workflow.sent == []


# -- hardened: what every training job carries -------------------------------------------------------------

KEY = "arn:aws:kms:us-east-1:123456789012:key/0f9c6a2e-1111-2222-3333-444455556666"


@pytest.mark.parametrize("count", [1, 3])
def test_every_job_is_isolated_encrypted_with_the_stack_key_and_encrypts_traffic_between_instances(
    count: int,
) -> None:
    config = model_config(training=training(instance_count=count))
    job = hardened(request(instance_count=count), config, KEY)

    assert job["EnableNetworkIsolation"] is True
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    assert job["OutputDataConfig"] == {"S3OutputPath": OUTPUT, "KmsKeyId": KEY}
    assert job["EnableInterContainerTrafficEncryption"] is True
    assert {k: v for k, v in job.items() if k not in HARDENED} == {
        k: v for k, v in request(instance_count=count).items() if k not in HARDENED
    }  # everything else of the request as it was


HARDENED = {
    "EnableNetworkIsolation",
    "ResourceConfig",
    "OutputDataConfig",
    "EnableInterContainerTrafficEncryption",
}


def test_a_config_that_says_why_gets_network_access() -> None:
    why = {"network_isolation": False, "network_access_reason": "pulls features from the feature store API"}
    config = model_config(training=training(**why))
    assert hardened(request(), config, KEY)["EnableNetworkIsolation"] is False


def test_without_the_stack_key_no_job_is_created() -> None:
    with pytest.raises(TrainingError, match="no training key"):
        hardened(request(), model_config(training=training()), "")
