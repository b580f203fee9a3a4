"""Deploy runs in the real RetrainWorkflow ASL (moto's interpreter, the real handlers): an approval in
the Model Registry deploys, a rollback brings an earlier version back, a retry starts a failed run's
request again; each through the same Deploy -> CheckRollout -> Rollback -> Finalize states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.domain.operations import approve, reject, retry_request, rollback_request
from seam.errors import OperationRefusedError
from seam.models.events import OperatorRequest
from seam.models.run import RunRequest, RunStatus, TriggerKind

from tests.workflow.harness import CRASHING_IMAGE, GOOD_CSV, Harness, model_config

DEPLOY_PATH = [
    "RunKind",
    "Register",
    "Deployable",
    "Deploy",
    "WaitForRollout",
    "CheckRollout",
    "RolloutDone",
    "Finalize",
    "RunOutcome",
    "Done",
]
ALICE = "arn:aws:iam::123456789012:user/alice"
STAGE = "test"  # the harness stack's: deploy runs' ids carry it


def manual(**overrides: Any) -> Any:
    return model_config(approval="manual", **overrides)


def register(h: Harness, auc: float) -> tuple[str, str]:
    """A retrain on new data that registers a version waiting for approval: (run id, version)."""
    before = {r.run_id for r in h.deps.runs.list_for_model("churn")}
    h.drop("churn", body=GOOD_CSV + f"{len(before) + 100},1.5,1\n")  # new data each time
    [run_id] = {r.run_id for r in h.deps.runs.list_for_model("churn")} - before
    h.finish_training(run_id, auc=auc)
    assert h.wait_execution(run_id)["status"] == "SUCCEEDED"
    run = h.run(run_id)
    assert run.status is RunStatus.REGISTERED, (run.status, run.cause)
    assert run.model_version is not None
    return run_id, run.model_version


def approved(h: Harness, version: str, *, note: str = "looks good", force: bool = False) -> str:
    """`seam approve`'s domain call, then the registry's event delivered to the trigger: the deploy
    run's id (the one `seam approve` prints)."""
    request = approve("churn", version, note, force, ALICE, h.deps.versions, h.deps.registry, _now(), STAGE)
    event = _package_event(h, version)
    assert h.trigger(event) == {"batchItemFailures": []}
    return request.run_id


def _package_event(h: Harness, version: str) -> dict[str, Any]:
    from seam_local.moto_hooks import package_event

    return package_event(h.package_arn("churn", version), account="123456789012", region="us-east-1")


def operator(h: Harness, request: RunRequest) -> str:
    assert h.trigger(OperatorRequest.body(request)) == {"batchItemFailures": []}
    return request.run_id


def serving_version(h: Harness) -> str:
    env = {e["name"]: e["value"] for e in h.serving.snapshot(manual().serving).container["env"]}
    return env["SEAM_MODEL_VERSION"]


def _now() -> datetime:
    return datetime.now(UTC)


def test_approval_deploys_the_version_through_the_deploy_states(harness: Harness) -> None:
    harness.onboard(manual())
    registering, version = register(harness, auc=0.9)
    assert harness.approval_status("churn", version) == "PendingManualApproval"
    assert harness.deps.versions.champion("churn") is None

    run_id = approved(harness, version, note="ship it")

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.states_entered(run_id) == DEPLOY_PATH  # no Validate, training or Evaluate
    run = harness.run(run_id)
    assert (run.status, run.trigger, run.model_version) == (RunStatus.DEPLOYED, TriggerKind.APPROVAL, version)
    assert run.decision and (run.decision.action, run.decision.by, run.decision.note) == (
        "approve",
        ALICE,
        "ship it",
    )
    assert run.decision.force is False
    assert run.training_job_name == registering  # lineage: the job that trained what now serves
    assert serving_version(harness) == version
    champion = harness.deps.versions.champion("churn")
    assert champion and (champion.version, champion.run_id, champion.value) == (version, run_id, 0.9)
    stored = harness.deps.versions.get_version("churn", version)
    assert stored and stored.served_at is not None
    assert harness.deps.locks.get("churn") is None


def test_duplicated_approval_events_start_one_deploy_run(harness: Harness) -> None:
    harness.onboard(manual())
    _, version = register(harness, auc=0.9)
    run_id = approved(harness, version)
    again = _package_event(harness, version)  # SageMaker's second copy of the same change
    assert harness.trigger(again, again) == {"batchItemFailures": []}

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.trigger(_package_event(harness, version)) == {"batchItemFailures": []}  # after it ended
    deploys = [r for r in harness.deps.runs.list_for_model("churn") if r.trigger is TriggerKind.APPROVAL]
    assert [r.run_id for r in deploys] == [run_id]
    assert [e["name"] for e in harness.executions()].count(run_id) == 1


def test_approval_whose_rollout_fails_is_rolled_back_and_the_version_marked_rejected(
    harness: Harness,
) -> None:
    harness.onboard(manual())
    _, first = register(harness, auc=0.9)
    assert harness.wait_execution(approved(harness, first))["status"] == "SUCCEEDED"
    harness.deps.models.put(manual(image=CRASHING_IMAGE))  # the next version's image crashes
    _, second = register(harness, auc=0.95)

    run_id = approved(harness, second)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert harness.states_entered(run_id)[-5:] == [
        "RolloutDone",
        "Rollback",
        "Finalize",
        "RunOutcome",
        "RunFailed",
    ]
    run = harness.run(run_id)
    assert run.status is RunStatus.FAILED and "RolloutFailed" in (run.cause or "")
    assert harness.deps.versions.champion("churn").version == first  # type: ignore[union-attr]
    assert serving_version(harness) == first
    assert harness.approval_status("churn", second) == "Rejected"
    package = harness.stack.client("sagemaker").describe_model_package(
        ModelPackageName=harness.package_arn("churn", second)
    )
    assert "RolloutFailed" in package["ApprovalDescription"]


def test_approval_after_the_champion_moved_is_refused_naming_both_versions(harness: Harness) -> None:
    harness.onboard(manual())
    _, first = register(harness, auc=0.9)
    assert harness.wait_execution(approved(harness, first))["status"] == "SUCCEEDED"
    _, second = register(harness, auc=0.93)  # both evaluated against the first
    _, third = register(harness, auc=0.95)
    assert harness.wait_execution(approved(harness, third))["status"] == "SUCCEEDED"

    with pytest.raises(OperationRefusedError, match=f"against champion {first}, but version {third} serves"):
        approve(
            "churn", second, "", False, ALICE, harness.deps.versions, harness.deps.registry, _now(), STAGE
        )
    assert harness.approval_status("churn", second) == "PendingManualApproval"  # nothing changed

    # Approved in Studio instead: the deploy run refuses, under the lock, with both versions named.
    studio = harness.set_approval("churn", second, "Approved", "from studio")
    assert harness.trigger(studio) == {"batchItemFailures": []}
    refused = next(
        r
        for r in harness.deps.runs.list_for_model("churn")
        if r.model_version == second and r.trigger is TriggerKind.APPROVAL
    )
    assert harness.wait_execution(refused.run_id)["status"] == "SUCCEEDED"
    run = harness.run(refused.run_id)
    assert run.status is RunStatus.REFUSED
    assert f"evaluated against champion {first}, but version {third} serves now" in (run.cause or "")
    assert harness.states_entered(refused.run_id) == ["RunKind", "Register", "Finalize", "RunOutcome", "Done"]
    assert serving_version(harness) == third and harness.deps.versions.champion("churn").version == third  # type: ignore[union-attr]

    forced = approved(harness, second, note="rolling forward on purpose", force=True)
    assert harness.wait_execution(forced)["status"] == "SUCCEEDED"
    run = harness.run(forced)
    assert run.status is RunStatus.DEPLOYED and run.decision and run.decision.force is True
    assert serving_version(harness) == second


def test_rejection_is_recorded_on_the_run_that_registered_the_version(harness: Harness) -> None:
    harness.onboard(manual())
    registering, version = register(harness, auc=0.9)
    executions = len(harness.executions())

    reject("churn", version, "leaks the label", ALICE, harness.deps.versions, harness.deps.registry)
    event = _package_event(harness, version)
    assert harness.trigger(event, event) == {"batchItemFailures": []}  # a duplicate records it once

    assert len(harness.executions()) == executions  # a rejection starts nothing
    [decision] = harness.run(registering).decisions.values()
    assert (decision.action, decision.by, decision.note) == ("reject", ALICE, "leaks the label")
    assert harness.approval_status("churn", version) == "Rejected"
    with pytest.raises(OperationRefusedError, match="was rejected \\(leaks the label\\)"):
        approve(
            "churn", version, "", False, ALICE, harness.deps.versions, harness.deps.registry, _now(), STAGE
        )


def test_bad_approvals_change_nothing(harness: Harness) -> None:
    harness.onboard(manual())
    _, version = register(harness, auc=0.9)
    assert harness.wait_execution(approved(harness, version))["status"] == "SUCCEEDED"
    deps = harness.deps
    cases = {
        "9": "model churn has no version 000009",
        "x": "'x' is not a version",
        version: f"version {version} of churn already serves",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/seam-test-other/1": (
            "is a version of package group seam-test-other, not of model churn"
        ),
    }
    for text, message in cases.items():
        with pytest.raises(OperationRefusedError, match=message):
            approve("churn", text, "", False, ALICE, deps.versions, deps.registry, _now(), STAGE)
    with pytest.raises(OperationRefusedError, match="already serves: roll it back first"):
        reject("churn", version, "no", ALICE, deps.versions, deps.registry)
    assert harness.approval_status("churn", version) == "Approved"


def test_two_approvals_at_once_deploy_one_after_the_other(harness: Harness) -> None:
    harness.onboard(manual())
    _, first = register(harness, auc=0.9)
    _, second = register(harness, auc=0.93)
    harness.serving.checks_until_done = 3  # the first rollout takes a while
    for version, at in ((first, _now()), (second, _now())):
        approve("churn", version, "", False, ALICE, harness.deps.versions, harness.deps.registry, at, STAGE)
    events = [_package_event(harness, first), _package_event(harness, second)]

    assert harness.trigger(*events) == {"batchItemFailures": []}

    deploys = [r for r in harness.deps.runs.list_for_model("churn") if r.trigger is TriggerKind.APPROVAL]
    assert len(deploys) == 1  # one runs; the other waits as the model's pending request
    lock = harness.deps.locks.get("churn")
    assert lock is not None and lock.holder == deploys[0].run_id and lock.pending_deploy is not None
    assert lock.pending is None  # the deploy slot, not the retrain one
    assert lock.pending_deploy.deploy and lock.pending_deploy.deploy.version != deploys[0].model_version
    waiting = lock.pending_deploy.run_id
    assert harness.wait_execution(deploys[0].run_id)["status"] == "SUCCEEDED"
    assert harness.wait_execution(waiting)["status"] == "SUCCEEDED"
    # Both were evaluated against no champion; by the time the second ran, the first served.
    assert harness.run(waiting).status is RunStatus.REFUSED
    assert serving_version(harness) == deploys[0].model_version


def rolled_forward(h: Harness) -> tuple[str, str]:
    """Two versions served one after the other: (first, second)."""
    h.onboard(manual())
    _, first = register(h, auc=0.9)
    assert h.wait_execution(approved(h, first))["status"] == "SUCCEEDED"
    _, second = register(h, auc=0.95)
    assert h.wait_execution(approved(h, second))["status"] == "SUCCEEDED"
    return first, second


def test_rollback_deploys_the_version_that_served_before(harness: Harness) -> None:
    first, second = rolled_forward(harness)
    champion = harness.deps.versions.champion("churn")
    assert champion and champion.previous_version == first

    request = rollback_request(
        "churn", None, "p99 latency doubled", ALICE, "r1", harness.deps.versions, _now(), STAGE
    )
    run_id = operator(harness, request)

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.states_entered(run_id) == DEPLOY_PATH
    run = harness.run(run_id)
    assert (run.status, run.trigger) == (RunStatus.DEPLOYED, TriggerKind.ROLLBACK)
    assert run.decision and (run.decision.action, run.decision.note) == ("rollback", "p99 latency doubled")
    assert serving_version(harness) == first
    champion = harness.deps.versions.champion("churn")
    assert champion and (champion.version, champion.previous_version) == (first, second)


def test_rollback_whose_rollout_fails_restores_what_served(harness: Harness) -> None:
    first, second = rolled_forward(harness)
    harness.serving.fail_rollouts = True

    run_id = operator(
        harness, rollback_request("churn", first, "try", ALICE, "r2", harness.deps.versions, _now(), STAGE)
    )

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert "Rollback" in harness.states_entered(run_id)
    assert harness.run(run_id).status is RunStatus.FAILED
    assert serving_version(harness) == second
    assert harness.deps.versions.champion("churn").version == second  # type: ignore[union-attr]
    assert harness.approval_status("churn", first) == "Approved"  # a rollback's failure rejects nothing


def test_bad_rollbacks_change_nothing(harness: Harness) -> None:
    harness.onboard(manual())
    with pytest.raises(OperationRefusedError, match="no version of churn serves"):
        rollback_request("churn", None, "", ALICE, "r", harness.deps.versions, _now(), STAGE)
    _, first = register(harness, auc=0.9)
    assert harness.wait_execution(approved(harness, first))["status"] == "SUCCEEDED"
    _, pending = register(harness, auc=0.95)
    with pytest.raises(OperationRefusedError, match="no version served before"):
        rollback_request("churn", None, "", ALICE, "r", harness.deps.versions, _now(), STAGE)
    with pytest.raises(OperationRefusedError, match=f"version {pending} of churn never served"):
        rollback_request("churn", pending, "", ALICE, "r", harness.deps.versions, _now(), STAGE)
    with pytest.raises(OperationRefusedError, match="already serves"):
        rollback_request("churn", first, "", ALICE, "r", harness.deps.versions, _now(), STAGE)


def test_retry_starts_a_failed_runs_request_again_as_a_new_run(harness: Harness) -> None:
    harness.onboard(model_config())
    harness.drop("churn", at=_now() - timedelta(seconds=10))  # a retry comes seconds after the drop
    failed = harness.only_run_id()
    harness.finish_training(failed, status="Failed", failure_reason="capacity")
    assert harness.wait_execution(failed)["status"] == "FAILED"

    request = retry_request(failed, harness.deps.runs, _now(), STAGE)
    retried = operator(harness, request)
    assert retried != failed and request.intent == f"retry|{failed}|1"
    harness.finish_training(retried, auc=0.9)

    assert harness.wait_execution(retried)["status"] == "SUCCEEDED"
    run = harness.run(retried)
    assert (run.status, run.retry_of, run.trigger) == (RunStatus.DEPLOYED, failed, TriggerKind.DATA)
    assert run.dataset == harness.run(failed).dataset  # the very object version the failed run had
    with pytest.raises(OperationRefusedError, match="ended DEPLOYED, not FAILED"):
        retry_request(retried, harness.deps.runs, _now(), STAGE)
    assert retry_request(failed, harness.deps.runs, _now(), STAGE).intent == f"retry|{failed}|2"


def test_retrying_a_running_run_is_refused(harness: Harness) -> None:
    harness.onboard(model_config())
    harness.drop("churn")
    running = harness.only_run_id()
    harness.wait_for_training(running)
    with pytest.raises(OperationRefusedError, match="is still running"):
        retry_request(running, harness.deps.runs, _now(), STAGE)
    with pytest.raises(OperationRefusedError, match="no run 'nope'"):
        retry_request("nope", harness.deps.runs, _now(), STAGE)


def test_an_auto_models_own_registration_starts_no_deploy_run(harness: Harness) -> None:
    """SageMaker also reports a version registered Approved: its own run deploys it, so the event
    starts nothing (neither while that run holds the lock nor after it made it the champion)."""
    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, auc=0.9)
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"

    assert harness.trigger(_package_event(harness, "000001")) == {"batchItemFailures": []}
    assert [r.run_id for r in harness.deps.runs.list_for_model("churn")] == [run_id]
