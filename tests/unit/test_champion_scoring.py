"""A champion of another image scored by a Processing job of its own image: the job's name, its hardened
request, adopting only the run's own job, settling its token, and stopping it when nobody waits for it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.dependencies import Dependencies
from seam.domain.champion_scoring import (
    ScoringIdentity,
    launch_scoring,
    processing_job_request,
    scoring_job_name,
)
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.domain.settlement import Settlement, TrainingSettler
from seam.errors import ForeignTrainingJobError
from seam.models.run import (
    ChampionArtifact,
    DatasetRef,
    Holdout,
    Run,
    RunStatus,
    Snapshot,
    TriggerKind,
    run_id_for,
)
from seam.models.workflow_state import WorkflowState
from seam_local.moto_hooks import set_processing_job

from tests.unit.conftest import ACCOUNT, IMAGE, REGION, RecordingWorkflow, model_config

pytestmark = pytest.mark.tables("ModelsTable", "RunsTable", "TaskTokensTable")

JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # CreateProcessingJob's ProcessingJobName
RUN_ID = "seam-unit-churn-0123456789ab"
OLD_IMAGE = IMAGE.split("@")[0] + "@sha256:" + "0" * 64
ROLE = f"arn:aws:iam::{ACCOUNT}:role/seam-unit-SageMakerTrainingRole"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0000"
CHAMPION = ChampionArtifact(
    version="000001",
    image=OLD_IMAGE,
    model_artifact_uri="s3://seam-unit-data/models/churn/seam-unit-churn-aaaaaaaaaaaa/output/model.tar.gz",
    scored_in_training=False,
)
HOLDOUT = Holdout(
    uri=f"s3://seam-unit-data/runs/{RUN_ID}/holdout/d.csv",
    rows=40,
    dataset_rows=40,
    fraction=0.2,
    max_rows=20_000,
    rule="r",
    champion=CHAMPION,
)
DATASET = DatasetRef(bucket="seam-unit-data", key="datasets/churn/d.csv", version_id="v1", etag="e", size=10)
STATE = WorkflowState(
    run_id=RUN_ID,
    model="churn",
    trigger=TriggerKind.DATA,
    dataset=DATASET,
    score_champion=True,
    snapshot=Snapshot(
        source=DATASET, train_uri=f"s3://seam-unit-data/runs/{RUN_ID}/train/d.csv", holdout=HOLDOUT
    ),
)
IDENTITY = ScoringIdentity(
    RUN_ID,
    "unit",
    ROLE,
    OLD_IMAGE,
    CHAMPION.model_artifact_uri,
    f"s3://seam-unit-data/runs/{RUN_ID}/holdout/",
    f"s3://seam-unit-data/runs/{RUN_ID}/champion/",
)


@pytest.mark.parametrize("stage", ["dev", "s" * 10])
@pytest.mark.parametrize("model", ["churn", "m" * 40, "a-b-" * 10])
def test_the_scoring_job_name_is_the_run_ids_with_its_stage_at_most_63_characters(
    stage: str, model: str
) -> None:
    run_id = run_id_for(stage, model, "data", "intent")
    name = scoring_job_name(run_id)
    assert JOB_NAME.fullmatch(name) and len(name) <= 63
    assert name.startswith(f"seam-{stage}-") and name.endswith(f"{run_id[-12:]}-champion")
    assert name == scoring_job_name(run_id)  # deterministic: a retried launch finds its job
    assert name != scoring_job_name(run_id_for(stage, model, "data", "other"))


def test_the_request_runs_the_champions_evaluate_entry_point_hardened() -> None:
    request = processing_job_request(model_config(), IDENTITY, KEY)
    assert request["AppSpecification"]["ImageUri"] == OLD_IMAGE
    assert request["AppSpecification"]["ContainerArguments"][0] == "evaluate"
    assert request["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
    }
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert {t["Key"]: t["Value"] for t in request["Tags"]} == {
        "seam:model": "churn",
        "seam:team": "growth",
        "seam:run-id": RUN_ID,
        "seam:stage": "unit",
    }
    inputs = {
        i["InputName"]: (i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"])
        for i in request["ProcessingInputs"]
    }
    assert inputs == {
        "model": (CHAMPION.model_artifact_uri, "/opt/ml/processing/model"),
        "holdout": (IDENTITY.holdout_uri, "/opt/ml/processing/holdout"),
    }


@pytest.fixture
def onboarded(deps: Dependencies) -> Dependencies:
    deps.models.put(model_config())
    deps.runs.create(Run(run_id=RUN_ID, model="churn", trigger=TriggerKind.DATA, dataset=DATASET))
    return deps


def launch(deps: Dependencies) -> Any:
    return launch_scoring(
        STATE,
        "token-1",
        0,
        deps.models,
        deps.tokens,
        deps.runs,
        deps.training,
        role_arn=ROLE,
        data_bucket="seam-unit-data",
        stage="unit",
        key_arn=KEY,
    )


def test_a_launch_stores_the_token_first_marks_the_run_scoring_and_a_retry_adopts_its_own_job(
    onboarded: Dependencies,
) -> None:
    first = launch(onboarded)
    name = scoring_job_name(RUN_ID)
    assert (first.training_job_name, first.created) == (name, True)
    token = onboarded.tokens.get(name)
    assert token is not None and token.run_id == RUN_ID and token.expected == IDENTITY.stored()
    run = onboarded.runs.get(RUN_ID)
    assert run is not None and (run.status, run.champion_scoring_job_name) == (RunStatus.SCORING, name)
    again = launch(onboarded)  # the state's retry: the job is the run's own
    assert (again.training_job_name, again.created) == (name, False)


def test_a_foreign_job_holding_the_name_fails_the_run_and_its_token_is_claimed(
    onboarded: Dependencies,
) -> None:
    foreign = processing_job_request(model_config(), IDENTITY._replace(image=IMAGE), KEY)
    onboarded.training.create_processing(foreign)
    with pytest.raises(ForeignTrainingJobError, match=f"image {IMAGE} ≠ the champion's {OLD_IMAGE}"):
        launch(onboarded)
    token = onboarded.tokens.get(scoring_job_name(RUN_ID))
    assert token is not None and token.settled == "failure"


def settle(deps: Dependencies, workflow: RecordingWorkflow) -> Settlement:
    settler = TrainingSettler(deps.tokens, deps.runs, workflow, deps.training.tags)
    return settler.settle(scoring_job_name(RUN_ID), deps.training.describe, deps.training.describe_processing)


def test_a_completed_scoring_job_succeeds_the_token_with_where_its_predictions_are(
    onboarded: Dependencies,
) -> None:
    launch(onboarded)
    name = scoring_job_name(RUN_ID)
    set_processing_job(
        name, "Completed", account=ACCOUNT, region=REGION, started=datetime.now(UTC) - timedelta(seconds=12.5)
    )
    workflow = RecordingWorkflow()
    assert settle(onboarded, workflow) is Settlement.SUCCEEDED
    [(kind, token, output)] = workflow.sent
    assert (kind, token) == ("success", "token-1")
    assert output == {
        "job_name": name,
        "image": OLD_IMAGE,
        "predictions_uri": f"s3://seam-unit-data/runs/{RUN_ID}/champion/predictions.csv",
        "billable_seconds": 13,
    }
    assert settle(onboarded, workflow) is Settlement.ALREADY_SETTLED


@pytest.mark.parametrize(
    ("status", "error"), [("Failed", "ChampionUnscorableError"), ("Stopped", "ChampionScoringStopped")]
)
def test_a_scoring_job_that_did_not_complete_fails_the_run_with_its_exit_message(
    onboarded: Dependencies, status: str, error: str
) -> None:
    launch(onboarded)
    set_processing_job(
        scoring_job_name(RUN_ID), status, account=ACCOUNT, region=REGION, exit_message="ClientError: no model"
    )
    workflow = RecordingWorkflow()
    assert settle(onboarded, workflow) is Settlement.FAILED
    [(_, _, (sent_error, cause))] = workflow.sent
    assert sent_error == error and "ClientError: no model" in cause


def test_an_orphaned_scoring_job_is_stopped_and_a_settled_one_is_left_alone(onboarded: Dependencies) -> None:
    launch(onboarded)
    name = scoring_job_name(RUN_ID)
    set_processing_job(name, "InProgress", account=ACCOUNT, region=REGION)
    stop = OrphanedJobs(onboarded.tokens, onboarded.training).stop(RUN_ID)
    assert stop is not None and (stop.job_name, stop.stopping) == (name, True)
    description = onboarded.training.describe_processing(name)
    assert description is not None and description["ProcessingJobStatus"] == "Stopped"
    onboarded.tokens.claim(name, "failure")
    assert OrphanedJobs(onboarded.tokens, onboarded.training).stop(RUN_ID) is None
