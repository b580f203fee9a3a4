"""Requests of different kinds for one model (issue 13): clocks of different precision must not decide
which run is lost, and a person's deploy request and a retrain never take each other's place.

Each scenario drives the real trigger handler and the real workflow (moto's interpreter) with events
stamped as AWS stamps them: an S3 event's time in whole seconds, a `seam trigger` in microseconds, a
registry change in milliseconds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from seam.domain.operations import approve
from seam.models.run import RunStatus, TriggerKind

from tests.reliability.conftest import Figure
from tests.reliability.test_scenarios import (
    INVALID_CSV,
    drop_event,
    executions,
    onboard,
    run_ids_for,
    wait_all,
)
from tests.workflow.harness import GOOD_CSV, Harness
from tests.workflow.test_deploy_runs import ALICE, STAGE, _package_event, manual, register

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]


def manual_event(model: str, at: datetime) -> dict:
    """`seam trigger MODEL` as the CLI sends it: its time in microseconds."""
    return {
        "source": "seam.manual",
        "detail-type": "Manual Retrain Requested",
        "id": str(uuid.uuid4()),
        "time": at.isoformat(),
        "detail": {"model": model, "requested_by": ALICE, "reason": "test"},
    }


def whole_second(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_drop_in_the_second_of_a_running_manual_retrain_is_trained_after_it(
    harness: Harness, figure: Figure
) -> None:
    onboard(harness, "samesec")
    second = datetime.now(UTC).replace(microsecond=0)
    harness.stack.client("s3").put_object(
        Bucket=harness.bucket, Key="datasets/samesec/old.csv", Body=GOOD_CSV.encode()
    )
    person = manual_event("samesec", second + timedelta(seconds=0.7))  # 0.7 s into the second
    [manual_run] = run_ids_for(harness, person)
    assert harness.trigger(person) == {"batchItemFailures": []}
    harness.wait_for_training(manual_run)
    drop = drop_event(harness, "samesec", "new", INVALID_CSV)
    drop["time"] = whole_second(second)  # S3's time: the drop happened somewhere in that second
    [drop_run] = run_ids_for(harness, drop)
    assert harness.trigger(drop) == {"batchItemFailures": []}

    lock = harness.deps.locks.get("samesec")
    pending = lock.pending_run_id if lock else None
    harness.finish_training(manual_run, auc=0.9)
    wait_all(harness, [manual_run, drop_run])
    started = executions(harness)
    trained = harness.run(drop_run)

    assert pending == drop_run  # before the fix: SUPERSEDED (0.7 s made the drop look older)
    assert set(started) == {manual_run, drop_run}
    assert trained.dataset and trained.dataset.key == "datasets/samesec/new.csv"
    figure.scenario = "drop in the same second as a running `seam trigger`"
    figure.injected = "manual retrain at S+0.7 s holds the lock; S3 drop stamped S (whole second)"
    figure.expected = "the drop waits as the pending retrain and runs at hand-over"
    figure.observed = f"drop {'pending, then ran' if drop_run in started else 'superseded, never ran'}"


def test_an_approval_and_a_drop_both_wait_and_the_deploy_run_goes_first(
    harness: Harness, figure: Figure
) -> None:
    harness.onboard(manual())
    _, version = register(harness, auc=0.9)  # a version waiting for approval
    holder_drop = drop_event(harness, "churn", "holder", GOOD_CSV + "900,1.5,1\n")
    [holder] = run_ids_for(harness, holder_drop)
    assert harness.trigger(holder_drop) == {"batchItemFailures": []}
    harness.wait_for_training(holder)
    # In one second, as it happens: the person approves (ms), a drop lands (whole seconds).
    deps = harness.deps
    approval = approve(
        "churn", version, "ship", False, ALICE, deps.versions, deps.registry, datetime.now(UTC), STAGE
    )
    data = drop_event(harness, "churn", "later", INVALID_CSV)
    [retrain] = run_ids_for(harness, data)
    assert harness.trigger(_package_event(harness, version), data) == {"batchItemFailures": []}
    lock = harness.deps.locks.get("churn")
    waiting = (lock.pending_deploy_run_id, lock.pending_run_id) if lock else (None, None)

    harness.finish_training(holder, auc=0.9)
    wait_all(harness, [holder, approval.run_id, retrain])
    deploy_run, retrain_run = harness.run(approval.run_id), harness.run(retrain)

    assert waiting == (approval.run_id, retrain)  # one pending slot each: neither replaced the other
    assert deploy_run.status is RunStatus.DEPLOYED and deploy_run.trigger is TriggerKind.APPROVAL
    assert retrain_run.status.terminal and retrain_run.trigger is TriggerKind.DATA
    assert deploy_run.started_at < retrain_run.started_at  # the person's deploy first
    assert harness.deps.locks.get("churn") is None
    figure.scenario = "approval and data drop while a retrain holds the lock"
    figure.injected = "holder training; an approval (ms) and a drop (whole s) arrive in one batch"
    figure.expected = "both wait (deploy slot, retrain slot); deploy run first, then the retrain"
    figure.observed = (
        f"pending deploy {'kept' if waiting[0] == approval.run_id else 'lost'}, retrain "
        f"{'kept' if waiting[1] == retrain else 'lost'}; deploy {deploy_run.status}, "
        f"then retrain {retrain_run.status}"
    )
