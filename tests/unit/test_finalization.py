"""Finalize: the outcome of a run, its timings, and recording / promoting / releasing / handing over once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.adapters.aws import client
from seam.dependencies import Dependencies
from seam.domain.finalization import Finalizer, Outcome, outcome_of, state_timings
from seam.domain.lock_handover import resume_lock_holder
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.domain.starting import start_or_coalesce
from seam.models.champion import Champion
from seam.models.run import (
    DatasetRef,
    DeploymentInfo,
    ErrorInfo,
    Evaluation,
    Registration,
    Run,
    RunRequest,
    RunStatus,
    TrainingResult,
    TriggerKind,
    WorkflowState,
)

from tests.unit.conftest import IMAGE, RecordingPublisher, running_job

pytestmark = pytest.mark.tables("RunsTable", "LocksTable", "ModelVersionsTable", "TaskTokensTable")

BUCKET = "seam-unit-databucket-123456789012"


def request(intent: str = "a") -> RunRequest:
    return RunRequest(
        stage="unit",
        model="churn",
        trigger=TriggerKind.DATA,
        intent=intent,
        dataset=DatasetRef(bucket=BUCKET, key=f"datasets/churn/{intent}.csv", etag=f"etag-{intent}", size=10),
    )


def trained(run_id: str = "seam-churn-0123456789ab", **changes: Any) -> WorkflowState:
    """A run that trained and was evaluated as a promotion over champion 000001 (0.80)."""
    state = WorkflowState(
        run_id=run_id,
        model="churn",
        trigger=TriggerKind.DATA,
        dataset=DatasetRef(
            bucket=BUCKET, key="datasets/churn/a.csv", etag="etag-a", version_id="v1", size=10
        ),
        training=TrainingResult(
            job_name=run_id,
            status="Completed",
            metrics={"validation:auc": 0.9},
            model_artifact_uri="s3://b/model.tar.gz",
            image=IMAGE,
        ),
        evaluation=evaluation("promote", champion_version="000001"),
    )
    return state.model_copy(update=changes)


def evaluation(decision: str, champion_version: str | None = None) -> Evaluation:
    return Evaluation(
        decision=decision,  # type: ignore[arg-type]
        metric="validation:auc",
        direction="maximize",
        challenger=0.9,
        champion=0.8 if champion_version else None,
        champion_version=champion_version,
        improvement=0.1 if champion_version else None,
        reason="validation:auc 0.8000 -> 0.9000 (improvement +0.1000)"
        if decision == "promote"
        else "validation:auc 0.9000 vs champion 0.8000: improvement +0.1000 < required 0.2",
    )


def registration(approval: str = "Approved", deployable: bool = True) -> Registration:
    return Registration(
        version="000002",
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/seam-unit-churn/2",
        approval=approval,  # type: ignore[arg-type]
        deployable=deployable,
    )


def deployed(state: WorkflowState | None = None) -> WorkflowState:
    return (state or trained()).model_copy(
        update={
            "registration": registration(),
            "deployment": DeploymentInfo(
                generation=7, checks=3, state="done", rollout={"state": "done", "replicas": 2}
            ),
        }
    )


LAMBDA_CAUSE = json.dumps({"errorType": "DataValidationError", "errorMessage": "columns: lacks tenure"})


# -- outcome_of ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            trained(error=ErrorInfo(Error="DataValidationError", Cause=LAMBDA_CAUSE)),
            Outcome(RunStatus.FAILED, "RunFailed", "DataValidationError: columns: lacks tenure"),
        ),
        (
            trained(error=ErrorInfo(Error="TrainingFailed", Cause="job: AlgorithmError")),
            Outcome(RunStatus.FAILED, "RunFailed", "TrainingFailed: job: AlgorithmError"),
        ),
        (
            trained(error=ErrorInfo(Error="States.Timeout")),
            Outcome(RunStatus.FAILED, "RunFailed", "States.Timeout: "),
        ),
        (  # an error wins over anything the run did before it
            deployed().model_copy(update={"error": ErrorInfo(Error="ServingError", Cause="forbidden")}),
            Outcome(RunStatus.FAILED, "RunFailed", "ServingError: forbidden"),
        ),
        (
            deployed().model_copy(
                update={
                    "rolled_back": True,
                    "deployment": DeploymentInfo(
                        generation=7, state="failed", rollout={"reason": "CrashLoopBackOff"}
                    ),
                }
            ),
            Outcome(
                RunStatus.FAILED, "RunFailed", "RolloutFailed: CrashLoopBackOff; previous version restored"
            ),
        ),
        (
            deployed().model_copy(
                update={"rolled_back": True, "deployment": DeploymentInfo(generation=7, state="failed")}
            ),
            Outcome(
                RunStatus.FAILED, "RunFailed", "RolloutFailed: rollout failed; previous version restored"
            ),
        ),
        (
            WorkflowState(run_id="r", model="churn", trigger=TriggerKind.SCHEDULE, data_unchanged=True),
            Outcome(RunStatus.SKIPPED, "RunSkipped", "dataset unchanged since the champion was trained"),
        ),
        (
            trained(evaluation=evaluation("reject", "000001")),
            Outcome(
                RunStatus.REJECTED,
                "RunRejected",
                "validation:auc 0.9000 vs champion 0.8000: improvement +0.1000 < required 0.2",
            ),
        ),
        (deployed(), Outcome(RunStatus.DEPLOYED, "ModelDeployed", "version 000002 serving")),
        (
            trained(registration=registration("PendingManualApproval", deployable=False)),
            Outcome(
                RunStatus.REGISTERED, "ModelRegistered", "version 000002 registered (PendingManualApproval)"
            ),
        ),
        (
            trained(registration=registration("Approved", deployable=False)),
            Outcome(RunStatus.REGISTERED, "ModelRegistered", "version 000002 registered (Approved)"),
        ),
        (trained(), Outcome(RunStatus.FAILED, "RunFailed", "workflow ended without an outcome")),
    ],
    ids=[
        "lambda-error",
        "plain-cause",
        "no-cause",
        "error-after-deploy",
        "rolled-back",
        "rolled-back-no-reason",
        "unchanged",
        "rejected",
        "deployed",
        "registered-pending",
        "registered-approved-no-serving",
        "no-outcome",
    ],
)
def test_the_outcome_of_a_run(state: WorkflowState, expected: Outcome) -> None:
    assert outcome_of(state) == expected


# -- state_timings -------------------------------------------------------------------------------------------


def test_state_timings_are_the_seconds_between_status_changes_until_the_end() -> None:
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    timeline = {  # out of order on purpose: DynamoDB maps have no order
        "EVALUATING": t0 + timedelta(seconds=63.5),
        "STARTED": t0,
        "TRAINING": t0 + timedelta(seconds=3),
        "VALIDATING": t0 + timedelta(seconds=1),
    }

    timings = state_timings(timeline, t0 + timedelta(seconds=65))

    assert timings == {"STARTED": 1.0, "VALIDATING": 2.0, "TRAINING": 60.5, "EVALUATING": 1.5}


def test_state_timings_of_a_run_that_never_left_started() -> None:
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert state_timings({"STARTED": t0}, t0 + timedelta(milliseconds=1234)) == {"STARTED": 1.234}


# -- Finalizer with real stores (moto) -----------------------------------------------------------------------


@pytest.fixture
def stores(deps: Dependencies, state_machine: str) -> Dependencies:
    return deps


@pytest.fixture
def published() -> RecordingPublisher:
    return RecordingPublisher()


def finalizer(deps: Dependencies, publisher: RecordingPublisher) -> Finalizer:
    jobs = OrphanedJobs(deps.tokens, deps.training)
    return Finalizer(deps.runs, deps.versions, deps.locks, deps.workflow, publisher, jobs)  # type: ignore[arg-type]


def begin(deps: Dependencies, req: RunRequest, *statuses: RunStatus) -> str:
    """Start a run through the trigger's path and move it through `statuses`."""
    start_or_coalesce(req, deps.locks, deps.runs, deps.workflow)
    for status in statuses:
        deps.runs.update(req.run_id, status=status)
    return req.run_id


def seed_champion(deps: Dependencies, version: str = "000001", run_id: str = "seam-churn-previous") -> None:
    deps.versions.promote(
        Champion(model="churn", version=version, metric="validation:auc", value=0.8, run_id=run_id),
        replaces=None,
    )


def execution_names(deps: Dependencies) -> list[str]:
    listed = deps.workflow.sfn.list_executions(stateMachineArn=deps.workflow.state_machine_arn)["executions"]
    return sorted(e["name"] for e in listed)


def test_a_deployed_run_is_recorded_promoted_released_and_announced(
    stores: Dependencies, published: RecordingPublisher
) -> None:
    seed_champion(stores)
    run_id = begin(stores, request(), RunStatus.VALIDATING, RunStatus.TRAINING, RunStatus.DEPLOYING)
    state = deployed(trained(run_id))

    result = finalizer(stores, published).finalize(state)

    timings = result.pop("state_timings")  # the handler's per-model TimeIn_<STATE> metrics
    assert result == {
        "run_id": run_id,
        "status": "DEPLOYED",
        "reason": "version 000002 serving",
        "next_run_id": None,
        "training_job_stop": None,
        "cost": None,  # no meter here (tests/unit/test_costing.py measures)
    }
    assert set(timings) == {"STARTED", "VALIDATING", "TRAINING", "DEPLOYING"}
    run = stores.runs.get(run_id)
    assert run is not None
    assert run.status is RunStatus.DEPLOYED
    assert run.finished_at is not None
    assert (run.model_version, run.training_job_name, run.metrics) == (
        "000002",
        run_id,
        {"validation:auc": 0.9},
    )
    assert run.rollout == {"state": "done", "replicas": 2}
    assert run.evaluation == state.evaluation
    assert set(run.state_timings) == {"STARTED", "VALIDATING", "TRAINING", "DEPLOYING"}
    assert all(seconds >= 0 for seconds in run.state_timings.values())
    assert "DEPLOYED" in run.timeline
    champion = stores.versions.champion("churn")
    assert champion is not None
    assert (champion.version, champion.value, champion.run_id, champion.dataset_fingerprint) == (
        "000002",
        0.9,
        run_id,
        "etag-a",
    )
    assert stores.locks.get("churn") is None
    assert published.published == [
        (
            "ModelDeployed",
            {
                "run_id": run_id,
                "model": "churn",
                "status": "DEPLOYED",
                "reason": "version 000002 serving",
                "trigger": "data",
                "model_version": "000002",
                "approval": "Approved",
                "metrics": {"validation:auc": 0.9},
                "state_timings": run.state_timings,
                "cost": None,
            },
        )
    ]


def test_finalizing_again_changes_nothing_that_was_recorded(
    stores: Dependencies, published: RecordingPublisher
) -> None:
    seed_champion(stores)
    run_id = begin(stores, request(), RunStatus.DEPLOYING)
    finalizer(stores, published).finalize(deployed(trained(run_id)))
    first_run, first_champion = stores.runs.get(run_id), stores.versions.champion("churn")

    again = finalizer(stores, published).finalize(deployed(trained(run_id)))
    failed = finalizer(stores, published).finalize(trained(run_id, error=ErrorInfo(Error="Late", Cause="x")))

    assert again["status"] == "DEPLOYED" and failed["next_run_id"] is None
    assert stores.runs.get(run_id) == first_run  # a terminal status is never overwritten
    assert stores.versions.champion("churn") == first_champion
    assert [p[1]["run_id"] for p in published.published] == [run_id] * 3
    assert published.published[1] == published.published[0]  # the retry announces what was recorded


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"evaluation": evaluation("reject", "000001")}, RunStatus.REJECTED, None),
        (
            {"error": ErrorInfo(Error="DataValidationError", Cause=LAMBDA_CAUSE)},
            RunStatus.FAILED,
            "DataValidationError",
        ),
        (
            {
                "registration": registration(),
                "deployment": DeploymentInfo(
                    generation=7, state="failed", rollout={"reason": "CrashLoopBackOff"}
                ),
                "rolled_back": True,
            },
            RunStatus.FAILED,
            "RolloutFailed",
        ),
        ({"registration": registration("PendingManualApproval", False)}, RunStatus.REGISTERED, None),
    ],
    ids=["rejected", "failed", "rolled-back", "pending-approval"],
)
def test_runs_that_did_not_deploy_keep_the_champion(
    stores: Dependencies,
    published: RecordingPublisher,
    changes: dict[str, Any],
    status: RunStatus,
    error: str | None,
) -> None:
    seed_champion(stores)
    run_id = begin(stores, request(), RunStatus.EVALUATING)
    state = trained(run_id, **changes)

    result = finalizer(stores, published).finalize(state)

    run = stores.runs.get(run_id)
    assert run is not None
    assert run.status is status and result["status"] == status.value
    assert run.error == error
    champion = stores.versions.champion("churn")
    assert champion is not None and (champion.version, champion.run_id) == ("000001", "seam-churn-previous")
    assert stores.locks.get("churn") is None
    assert published.published[0][0] == outcome_of(state).event


def test_a_rejected_run_records_the_gates_reason_as_its_cause(
    stores: Dependencies, published: RecordingPublisher
) -> None:
    seed_champion(stores)
    run_id = begin(stores, request(), RunStatus.EVALUATING)

    finalizer(stores, published).finalize(trained(run_id, evaluation=evaluation("reject", "000001")))

    run = stores.runs.get(run_id)
    assert run is not None
    assert run.cause == "validation:auc 0.9000 vs champion 0.8000: improvement +0.1000 < required 0.2"


def test_an_approved_version_of_a_model_without_serving_becomes_the_champion(
    stores: Dependencies, published: RecordingPublisher
) -> None:
    run_id = begin(stores, request(), RunStatus.REGISTERING)

    result = finalizer(stores, published).finalize(
        trained(run_id, evaluation=evaluation("promote"), registration=registration("Approved", False))
    )

    assert result["status"] == "REGISTERED"
    champion = stores.versions.champion("churn")
    assert champion is not None and (champion.version, champion.run_id) == ("000002", run_id)


def test_a_champion_that_moved_since_evaluation_fails_the_run_and_stays(
    stores: Dependencies, published: RecordingPublisher
) -> None:
    seed_champion(stores, "000005", "seam-churn-other")  # evaluation compared with 000001
    run_id = begin(stores, request(), RunStatus.DEPLOYING)

    result = finalizer(stores, published).finalize(deployed(trained(run_id)))

    assert result["status"] == "FAILED"
    assert result["reason"].startswith(
        "ChampionMoved: champion of churn moved since evaluation (expected 000001)"
    )
    run = stores.runs.get(run_id)
    assert run is not None and (run.status, run.error) == (RunStatus.FAILED, "ChampionMoved")
    champion = stores.versions.champion("churn")
    assert champion is not None and champion.version == "000005"
    assert published.published[0][0] == "RunFailed"


def test_finalize_hands_the_lock_to_the_pending_run_and_starts_it(
    stores: Dependencies, published: RecordingPublisher
) -> None:
    first, middle, newest = request("a"), request("b"), request("c")  # in the order they happened
    run_id = begin(stores, first, RunStatus.EVALUATING)
    start_or_coalesce(middle, stores.locks, stores.runs, stores.workflow)
    start_or_coalesce(newest, stores.locks, stores.runs, stores.workflow)

    result = finalizer(stores, published).finalize(trained(run_id, evaluation=evaluation("reject", "000001")))

    assert result["next_run_id"] == newest.run_id
    lock = stores.locks.get("churn")
    assert lock is not None and lock.holder == newest.run_id and lock.pending is None
    pending = stores.runs.get(newest.run_id)
    assert pending is not None and (pending.status, pending.dataset) == (RunStatus.STARTED, newest.dataset)
    assert execution_names(stores) == sorted([run_id, newest.run_id])
    execution = stores.workflow.sfn.describe_execution(
        executionArn=stores.workflow.execution_arn(newest.run_id)
    )
    assert json.loads(execution["input"])["dataset"]["key"] == "datasets/churn/c.csv"

    # A retried Finalize of the first run neither releases the new holder's lock nor starts it twice.
    assert finalizer(stores, published).finalize(trained(run_id))["next_run_id"] is None
    lock = stores.locks.get("churn")
    assert lock is not None and lock.holder == newest.run_id
    assert execution_names(stores) == sorted([run_id, newest.run_id])


def test_finalize_starts_the_run_its_release_handed_the_lock_to_without_reading_the_lock_again(
    stores: Dependencies, published: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, pending = request("a"), request("b")
    run_id = begin(stores, first, RunStatus.EVALUATING)
    start_or_coalesce(pending, stores.locks, stores.runs, stores.workflow)
    reads: list[str] = []
    read = stores.locks.read
    monkeypatch.setattr(stores.locks, "read", lambda model: reads.append(model) or read(model))

    result = finalizer(stores, published).finalize(trained(run_id, evaluation=evaluation("reject", "000001")))

    assert result["next_run_id"] == pending.run_id
    assert reads == ["churn"]  # the release's own read: resuming used the request it handed over
    assert execution_names(stores) == sorted([run_id, pending.run_id])


def job_status(deps: Dependencies, run_id: str) -> str:
    described = deps.training.describe(run_id)
    assert described is not None
    return described["TrainingJobStatus"]


@pytest.mark.parametrize("error", ["States.Timeout", "States.HeartbeatTimeout", "TransientError"])
def test_a_run_that_failed_with_its_token_unsettled_has_its_job_stopped_before_the_hand_over(
    stores: Dependencies, published: RecordingPublisher, faults: Any, error: str
) -> None:
    first, pending = request("a"), request("b")
    run_id = begin(stores, first, RunStatus.TRAINING)
    running_job(stores, run_id)
    start_or_coalesce(pending, stores.locks, stores.runs, stores.workflow)
    faults.calls.clear()
    failed = trained(run_id, error=ErrorInfo(Error=error)).model_copy(update={"training": None})

    result = finalizer(stores, published).finalize(failed)
    again = finalizer(stores, published).finalize(failed)  # Finalize's Retry after a later step failed

    assert result["training_job_stop"] == {
        "job_name": run_id,
        "stopping": True,
        "reason": "StopTrainingJob accepted",
    }
    assert job_status(stores, run_id) == "Stopped"
    assert faults.calls.index("sagemaker.StopTrainingJob") < faults.calls.index("sfn.StartExecution")
    assert result["next_run_id"] == pending.run_id
    assert again["training_job_stop"]["stopping"] is False  # already stopped: SageMaker says so, not an error
    assert "in status Stopped" in again["training_job_stop"]["reason"]


def test_no_job_is_stopped_when_the_token_was_settled_or_never_stored(
    stores: Dependencies, published: RecordingPublisher, faults: Any
) -> None:
    trained_then_failed = begin(stores, request("a"), RunStatus.TRAINING)
    running_job(stores, trained_then_failed)
    stores.tokens.claim(trained_then_failed, "failure", "a-message")  # e.g. TrainingFailed was delivered
    never_launched = begin(stores, request("b"))
    validation = ErrorInfo(Error="DataValidationError", Cause=LAMBDA_CAUSE)

    settled = finalizer(stores, published).finalize(
        trained(trained_then_failed, error=ErrorInfo(Error="TrainingFailed")).model_copy(
            update={"training": None}
        )
    )
    untrained = finalizer(stores, published).finalize(
        trained(never_launched, error=validation).model_copy(update={"training": None})
    )
    assert (settled["training_job_stop"], untrained["training_job_stop"]) == (None, None)
    assert faults.count("sagemaker", "StopTrainingJob") == 0
    faults.params.clear()
    deployed_run = begin(stores, request("c"), RunStatus.DEPLOYING)
    finalizer(stores, published).finalize(deployed(trained(deployed_run)))
    tokens_read = [p for p in faults.sent("dynamodb", "GetItem") if p["TableName"] == stores.tokens.table]
    assert tokens_read == []  # a run with a training result never had an unsettled token: no read


def test_resume_lock_holder_starts_a_holder_whose_hand_over_was_lost(stores: Dependencies) -> None:
    first, pending = request("a"), request("b")
    begin(stores, first)
    start_or_coalesce(pending, stores.locks, stores.runs, stores.workflow)
    stores.locks.release("churn", first.run_id)  # handed over, then the Lambda died before starting it

    assert resume_lock_holder("churn", stores.locks, stores.runs, stores.workflow) == pending.run_id
    assert resume_lock_holder("churn", stores.locks, stores.runs, stores.workflow) is None
    assert execution_names(stores) == sorted([first.run_id, pending.run_id])
    run = stores.runs.get(pending.run_id)
    assert run is not None and run.status is RunStatus.STARTED


def test_resume_lock_holder_starts_a_recorded_run_whose_execution_never_started(stores: Dependencies) -> None:
    lost = request("a")
    stores.locks.acquire(lost)
    stores.runs.create(
        Run(run_id=lost.run_id, model="churn", trigger=lost.trigger)
    )  # then StartExecution was lost

    assert resume_lock_holder("churn", stores.locks, stores.runs, stores.workflow) == lost.run_id
    assert execution_names(stores) == [lost.run_id]


def test_resume_lock_holder_leaves_a_running_holder_and_a_free_model_alone(stores: Dependencies) -> None:
    assert resume_lock_holder("churn", stores.locks, stores.runs, stores.workflow) is None
    running = begin(stores, request("a"))

    assert resume_lock_holder("churn", stores.locks, stores.runs, stores.workflow) is None
    assert execution_names(stores) == [running]


@pytest.mark.parametrize(
    "run_status", [RunStatus.FAILED, RunStatus.TRAINING], ids=["run ended", "Finalize never ran"]
)
def test_resume_lock_holder_releases_a_lock_parked_on_a_closed_execution(
    stores: Dependencies, run_status: RunStatus
) -> None:
    parked, pending = request("a"), request("b")
    begin(stores, parked, run_status)
    start_or_coalesce(pending, stores.locks, stores.runs, stores.workflow)
    sfn = client("stepfunctions")
    sfn.stop_execution(executionArn=stores.workflow.execution_arn(parked.run_id))  # closed: ABORTED

    assert resume_lock_holder("churn", stores.locks, stores.runs, stores.workflow) == pending.run_id
    lock = stores.locks.get("churn")
    assert lock is not None and lock.holder == pending.run_id and lock.pending is None
    ended = stores.runs.get(parked.run_id)
    assert ended is not None and ended.status is RunStatus.FAILED
    assert (ended.error == "ExecutionEnded") is (run_status is RunStatus.TRAINING)  # a terminal one is kept
    assert execution_names(stores) == sorted([parked.run_id, pending.run_id])
