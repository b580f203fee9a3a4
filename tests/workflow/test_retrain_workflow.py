"""The real RetrainWorkflow ASL, executed by moto's Step Functions interpreter, with the real handlers.

Each test names the path it proves and asserts on the execution history and on the records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from seam.models.run import RunStatus, utc_now

from bench.overhead import HAPPY_PATH
from tests.stored import stored_versions
from tests.workflow.harness import CRASHING_IMAGE, GOOD_CSV, Harness, model_config, sqs_event


def deploy_first_version(h: Harness, auc: float = 0.9, at: datetime | None = None) -> str:
    h.drop("churn", at=at)
    run_id = h.only_run_id()
    h.finish_training(run_id, auc=auc)
    assert h.wait_execution(run_id)["status"] == "SUCCEEDED"
    return run_id


def test_data_drop_trains_evaluates_registers_and_deploys(harness: Harness) -> None:
    harness.onboard(model_config())
    run_id = deploy_first_version(harness)

    assert harness.states_entered(run_id) == list(HAPPY_PATH)
    run = harness.run(run_id)
    assert run.status is RunStatus.DEPLOYED
    assert run.metrics == {"validation:auc": 0.9}
    assert run.model_version == "000001"
    assert set(run.state_timings) >= {
        "STARTED",
        "VALIDATING",
        "TRAINING",
        "EVALUATING",
        "REGISTERING",
        "DEPLOYING",
    }
    # The serving Deployment now runs the training image with the new model, and its old spec is recorded.
    serving = harness.serving.snapshot(model_config().serving)
    assert serving.container["image"] == model_config().training.image
    env = {e["name"]: e["value"] for e in serving.container["env"]}
    assert env["SEAM_MODEL_VERSION"] == "000001"
    assert env["SEAM_MODEL_URI"].startswith(f"s3://{harness.bucket}/models/churn/{run_id}/")
    assert serving.annotations["seam.dev/run-id"] == run_id
    assert run.previous_serving and run.previous_serving["container"]["image"] == "registry/churn:previous"
    champion = harness.deps.versions.champion("churn")
    assert champion and (champion.version, champion.value) == ("000001", 0.9)
    [version] = stored_versions(harness.deps.versions, "churn")
    assert version.training_job_name == run_id and version.dataset.etag
    assert harness.deps.locks.get("churn") is None  # Finalize released the lock


def test_worse_challenger_is_rejected_and_champion_keeps_serving(harness: Harness) -> None:
    harness.onboard(model_config())
    first = deploy_first_version(harness, auc=0.9)
    harness.drop("churn", body=GOOD_CSV + "61,91.5,1\n")  # new data, so the run trains
    second = next(r.run_id for r in harness.deps.runs.list_for_model("churn") if r.run_id != first)
    harness.finish_training(second, auc=0.85)

    assert harness.wait_execution(second)["status"] == "SUCCEEDED"
    assert harness.states_entered(second)[-4:] == ["Promote", "Finalize", "RunOutcome", "Done"]
    run = harness.run(second)
    assert run.status is RunStatus.REJECTED
    assert run.evaluation and run.evaluation.decision == "reject"
    assert (run.evaluation.challenger, run.evaluation.champion) == (0.85, 0.9)
    assert "improvement -0.0500 < required 0.01" in (run.cause or "")
    assert harness.deps.versions.champion("churn").version == "000001"  # type: ignore[union-attr]
    env = {e["name"]: e["value"] for e in harness.serving.snapshot(model_config().serving).container["env"]}
    assert env["SEAM_MODEL_VERSION"] == "000001"


def test_invalid_data_fails_at_validate_naming_the_rule(harness: Harness) -> None:
    harness.onboard(model_config())
    harness.drop("churn", body="tenure,charges,churned\n1,abc,0\n" + GOOD_CSV.split("\n", 1)[1])
    run_id = harness.only_run_id()

    execution = harness.wait_execution(run_id)
    assert execution["status"] == "FAILED"
    assert harness.states_entered(run_id) == ["RunKind", "Validate", "Finalize", "RunOutcome", "RunFailed"]
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and run.error == "DataValidationError"
    assert "dtype" in (run.cause or "") and "'charges' is 'abc'" in (run.cause or "")
    assert harness.stack.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []
    assert harness.deps.locks.get("churn") is None


@pytest.mark.parametrize(
    ("status", "reason"), [("Failed", "AlgorithmError: out of memory"), ("Stopped", None)]
)
def test_training_failed_or_stopped_ends_the_run_failed(
    harness: Harness, status: str, reason: str | None
) -> None:
    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, status=status, failure_reason=reason)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert harness.states_entered(run_id) == [
        "RunKind",
        "Validate",
        "DataChanged",
        "LaunchTraining",
        "Finalize",
        "RunOutcome",
        "RunFailed",
    ]
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and run.error == f"Training{status}"
    assert (reason or f"training job ended {status}") in (run.cause or "")
    assert harness.deps.locks.get("churn") is None
    assert harness.deps.tokens.get(run_id).settled == "failure"  # type: ignore[union-attr]


def test_lost_callback_is_settled_by_the_reconciler(harness: Harness) -> None:
    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, auc=0.9, deliver=False)  # SageMaker's event never arrives
    # The run has been in TRAINING longer than the reconciler's threshold.
    stale = (utc_now() - timedelta(hours=1)).isoformat()
    harness.stack.client("dynamodb").update_item(
        TableName=harness.deps.settings.runs_table,
        Key={"run_id": {"S": run_id}},
        UpdateExpression="SET updated_at = :t",
        ExpressionAttributeValues={":t": {"S": stale}},
    )

    report = harness.stack.invoke("ReconcilerFunction", {})
    sqs = harness.stack.client("sqs")
    queued = sqs.receive_message(QueueUrl=harness.deps.callback_queue.queue_url, MaxNumberOfMessages=10)
    checks = [m["Body"] for m in queued.get("Messages", [])]  # what Lambda's event source delivers
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(*checks)) == {"batchItemFailures": []}

    assert report["checks_sent"] == [run_id] and len(checks) == 1
    assert harness.deps.tokens.get(run_id).settled == "success"  # type: ignore[union-attr]
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.run(run_id).status is RunStatus.DEPLOYED
    # A late duplicate of the lost event now changes nothing.
    late = harness.training_event(run_id, "Completed", {"validation:auc": 0.1})
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(late)) == {"batchItemFailures": []}
    assert harness.run(run_id).metrics == {"validation:auc": 0.9}


def test_training_that_never_reports_times_out(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # Limits are derived from the config (tests/unit/test_training.py); shrunk here to run the timeout path.
    from seam.domain import validation
    from seam.models.run import TrainingLimits

    monkeypatch.setattr(
        validation, "limits_for", lambda *_: TrainingLimits(timeout_seconds=1, heartbeat_seconds=1)
    )
    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert harness.states_entered(run_id) == [
        "RunKind",
        "Validate",
        "DataChanged",
        "LaunchTraining",
        "Finalize",
        "RunOutcome",
        "RunFailed",
    ]
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and run.error in ("States.Timeout", "States.HeartbeatTimeout")
    assert harness.deps.locks.get("churn") is None


def test_failed_rollout_rolls_back_to_the_recorded_spec(harness: Harness) -> None:
    harness.onboard(model_config(image=CRASHING_IMAGE))
    before = harness.serving.snapshot(model_config().serving)
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, auc=0.9)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert harness.states_entered(run_id)[-6:] == [
        "CheckRollout",
        "RolloutDone",
        "Rollback",
        "Finalize",
        "RunOutcome",
        "RunFailed",
    ]
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and "ProgressDeadlineExceeded" in (run.cause or "")
    after = harness.serving.snapshot(model_config().serving)
    assert (after.container, after.annotations) == (before.container, before.annotations)
    assert harness.deps.versions.champion("churn") is None  # a version that never served is not champion


def test_the_same_event_twice_starts_one_run(harness: Harness) -> None:
    harness.onboard(model_config())
    event = harness.object_created_event("datasets/churn/day1.csv", GOOD_CSV)

    assert harness.trigger(event, event) == {"batchItemFailures": []}
    assert harness.trigger(event) == {"batchItemFailures": []}

    assert len(harness.executions()) == 1
    run_id = harness.only_run_id()
    harness.finish_training(run_id)
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    harness.trigger(event)  # redelivered after the run ended
    assert len(harness.executions()) == 1


def test_triggers_while_running_coalesce_into_one_pending_run_started_by_finalize(harness: Harness) -> None:
    harness.onboard(model_config())
    earlier = datetime.now(UTC) - timedelta(seconds=10)  # the alarm comes seconds after the drops
    harness.drop("churn", name="a", at=earlier)
    first = harness.only_run_id()
    harness.wait_for_training(first)
    harness.drop("churn", name="b", body=GOOD_CSV + "61,91.5,1\n", at=earlier)
    harness.drop("churn", name="c", body=GOOD_CSV + "62,93.0,0\n", at=earlier)
    harness.trigger(harness.alarm_event("churn-feature-drift"))

    assert len(harness.executions()) == 1
    lock = harness.deps.locks.get("churn")
    assert lock and lock.holder == first and lock.pending is not None

    harness.finish_training(first)
    assert harness.wait_execution(first)["status"] == "SUCCEEDED"
    executions = harness.executions()
    assert len(executions) == 2  # the newest request (the drift alarm) runs; older ones coalesced into it
    pending = next(e["name"] for e in executions if e["name"] != first)
    assert harness.run(pending).trigger == "drift"
    harness.wait_for_training(pending)
    assert harness.deps.locks.get("churn").holder == pending  # type: ignore[union-attr]
    assert harness.run(pending).dataset.key == "datasets/churn/c.csv"  # type: ignore[union-attr]


def test_unchanged_data_ends_without_training(harness: Harness) -> None:
    harness.onboard(model_config())
    deploy_first_version(harness, at=datetime.now(UTC) - timedelta(seconds=10))  # the alarm: seconds later
    harness.trigger(harness.alarm_event("churn-feature-drift"))  # retrains on the latest drop: the same data
    run_id = next(r.run_id for r in harness.deps.runs.list_for_model("churn") if r.trigger == "drift")

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    entered = ["RunKind", "Validate", "DataChanged", "Finalize", "RunOutcome", "Done"]
    assert harness.states_entered(run_id) == entered
    assert harness.run(run_id).status is RunStatus.SKIPPED


def test_a_deploy_that_fails_after_patching_is_rolled_back(harness: Harness) -> None:
    """The patch reached the API but its answer didn't: serving must not stay on the new revision."""
    from seam.errors import ServingError

    from tests.workflow.in_memory_serving import InMemoryServing

    class PatchThenFail(InMemoryServing):
        def apply(self, target, release):
            super().apply(target, release)
            raise ServingError("connection reset after the PATCH was applied")

    serving = PatchThenFail()
    harness.deps.serving = harness.serving = serving
    harness.onboard(model_config())
    before = serving.snapshot(model_config().serving)
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert harness.states_entered(run_id)[-5:] == [
        "Deploy",
        "Rollback",
        "Finalize",
        "RunOutcome",
        "RunFailed",
    ]
    after = serving.snapshot(model_config().serving)
    assert (after.container, after.annotations) == (before.container, before.annotations)
    assert "connection reset after the PATCH" in (harness.run(run_id).cause or "")


def test_a_serving_target_outside_the_allowed_clusters_fails_before_any_patch(harness: Harness) -> None:
    config = model_config(
        serving={
            "cluster": "someone-elses",
            "namespace": "ml-serving",
            "deployment": "churn-predictor",
            "container": "model",
        }
    )
    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)
    # Changed while the run trains (the trigger refuses such a config before a run starts): Deploy
    # still refuses it, before any patch.
    harness.onboard(config)
    harness.finish_training(run_id)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    cause = harness.run(run_id).cause or ""
    assert (
        "ServingError" in cause and "'someone-elses'" in cause and "not an allowed serving cluster" in cause
    )
    assert harness.serving.snapshot(config.serving).generation == 1  # never patched
