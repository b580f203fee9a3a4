"""A champion of another image digest scored by a Processing job of its own image (issue 12), through the
real RetrainWorkflow: the ScoreChampion state, its task token settled by the training callback from the
"SageMaker Processing Job State Change" event, Evaluate deciding paired on the job's predictions. What the
champion's image writes is written by the test (tests/local/test_champion_scoring.py runs the real one)."""

from __future__ import annotations

import json
from datetime import timedelta

from seam.domain.champion_scoring import scoring_job_name
from seam.models.run import RunStatus, utc_now
from seam_cli.main import app
from typer.testing import CliRunner

from tests.workflow.harness import Harness, noisy_scores, predictions_csv, sqs_event
from tests.workflow.test_paired_evaluation import first_version, paired_config, run_of, train

IMAGE_B = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "b" * 64
HAPPY_PATH_STATES = ["RunKind", "Validate", "DataChanged", "LaunchTraining", "Evaluate", "Promote"]


def image_changed(h: Harness, known: set[str]) -> tuple[str, str]:
    """v1 trained by the config's image, then the config moved to IMAGE_B; the next run's id and the
    image that trained v1."""
    first = first_version(h, known)
    assert h.states_entered(first)[: len(HAPPY_PATH_STATES)] == HAPPY_PATH_STATES  # no ScoreChampion
    config = h.deps.models.get("churn")
    h.deps.models.put(
        config.model_copy(update={"training": config.training.model_copy(update={"image": IMAGE_B})})
    )
    return run_of(h, 2, known), config.training.image


def test_a_champion_of_another_image_is_scored_by_its_processing_job_and_the_gate_decides_paired(
    harness: Harness,
) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    run_id, image_a = image_changed(harness, known)

    name = harness.wait_for_scoring(run_id)
    assert name == scoring_job_name(run_id) and len(name) <= 63
    sm = harness.stack.client("sagemaker")
    job = sm.describe_processing_job(ProcessingJobName=name)
    assert job["AppSpecification"]["ImageUri"] == image_a
    assert job["AppSpecification"]["ContainerArguments"] == [
        "evaluate",
        "--model",
        "/opt/ml/processing/model",
        "--data",
        "/opt/ml/processing/holdout",
        "--output",
        "/opt/ml/processing/evaluation/predictions.csv",
    ]
    assert job["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
    }
    key = harness.deps.settings.training_key_arn
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert harness.run(run_id).status is RunStatus.SCORING
    assert not harness._job_exists(run_id)  # scored before training: nothing paid for yet

    labels = harness.holdout_labels(run_id)
    harness.finish_scoring(run_id, predictions_csv(labels, noisy_scores(labels, 0.6, "old")))
    harness.wait_for_training(run_id)
    channels = sm.describe_training_job(TrainingJobName=run_id)["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["train", "holdout"]  # no champion channel for image B
    train(harness, run_id, challenger=1.5, champion=None)

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    run = harness.run(run_id)
    assert run.status is RunStatus.DEPLOYED, run.cause
    assert "ScoreChampion" in harness.states_entered(run_id)
    gate = run.evaluation
    assert gate and gate.paired and gate.paired.champion is not None
    assert (gate.champion_scored_by, gate.champion_scoring_job) == ("processing job", name)
    assert gate.paired.rows == len(labels) and gate.champion < gate.challenger  # type: ignore[operator]
    assert run.champion_scoring_job_name == name
    assert run.cost is not None and run.cost.parts["champion_scoring"].quantity == 30  # 30 s x 1 instance
    assert RunStatus.SCORING.value in run.timeline

    shown = CliRunner(env={"COLUMNS": "250"}).invoke(app, ["runs", "show", run_id])
    assert shown.exit_code == 0, shown.output
    assert f"champion scored by its image in the processing job {name}" in shown.output


def test_a_champion_its_own_image_cannot_score_ends_the_run_before_training_and_registers_nothing(
    harness: Harness,
) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    run_id, _ = image_changed(harness, known)

    harness.finish_scoring(run_id, None, status="Failed", exit_message="ClientError: cannot load the model")

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED
    assert run.error == "ChampionUnscorableError"
    assert "ClientError: cannot load the model" in (run.cause or "")
    assert not harness._job_exists(run_id)  # no training job was started
    assert harness.deps.versions.champion("churn").version == "000001"  # type: ignore[union-attr]
    assert "LaunchTraining" not in harness.states_entered(run_id)


def test_a_completed_scoring_job_that_wrote_no_predictions_fails_at_evaluation_by_name(
    harness: Harness,
) -> None:
    harness.onboard(paired_config())
    known: set[str] = set()
    run_id, _ = image_changed(harness, known)
    harness.finish_scoring(run_id, None)
    train(harness, run_id, challenger=1.5, champion=None)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    run = harness.run(run_id)
    assert (run.error, run.model_version) == ("ChampionUnscorableError", None)
    assert f"runs/{run_id}/champion/predictions.csv" in (run.cause or "")


def test_a_lost_scoring_event_is_settled_by_the_reconcilers_check(harness: Harness) -> None:
    """SageMaker's events are best effort: the reconciler has a quiet SCORING run checked, and the
    callback settles the scoring job's token from DescribeProcessingJob, as it does a training's."""
    harness.onboard(paired_config())
    known: set[str] = set()
    run_id, _ = image_changed(harness, known)
    harness.wait_for_scoring(run_id)
    labels = harness.holdout_labels(run_id)
    harness.finish_scoring(run_id, predictions_csv(labels, noisy_scores(labels, 0.6, "old")), deliver=False)
    harness.stack.client("dynamodb").update_item(  # nothing heard of it for an hour
        TableName=harness.deps.settings.runs_table,
        Key={"run_id": {"S": run_id}},
        UpdateExpression="SET updated_at = :t",
        ExpressionAttributeValues={":t": {"S": (utc_now() - timedelta(hours=1)).isoformat()}},
    )

    assert harness.stack.invoke("ReconcilerFunction", {})["checks_sent"] == [run_id]
    queue = harness.deps.callback_queue
    [check] = queue.sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(check["Body"])["detail"] == {"TrainingJobName": scoring_job_name(run_id)}
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(check["Body"])) == {
        "batchItemFailures": []
    }

    train(harness, run_id, challenger=1.5, champion=None)  # the workflow moved on to LaunchTraining
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.run(run_id).evaluation.champion_scored_by == "processing job"  # type: ignore[union-attr]


def test_a_run_over_budget_scores_no_champion_and_is_skipped(harness: Harness) -> None:
    """The budget is checked before a run's first paid job: for a run whose champion needs scoring that is
    the Processing job, so an over-budget run ends SKIPPED with neither job started."""
    from seam.models.training_config import Budget

    harness.onboard(paired_config())
    known: set[str] = set()
    first_version(harness, known)
    config = harness.deps.models.get("churn")
    training = config.training.model_copy(update={"image": IMAGE_B})
    # One run's worst case (ml.m5.large for its max runtime) is about $0.02: far over $0.001.
    harness.deps.models.put(
        config.model_copy(update={"training": training, "budget": Budget(monthly_usd=0.001)})
    )
    run_id = run_of(harness, 2, known)

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    run = harness.run(run_id)
    assert run.status is RunStatus.SKIPPED and (run.cause or "").startswith("budget:"), run.cause
    assert "ScoreChampion" in harness.states_entered(run_id)
    assert harness.stack.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []
    assert not harness._job_exists(run_id)
