"""RunRequest.order across trigger kinds whose clocks differ in precision, and the lock's two pending
slots (a retrain and a deploy run never supersede each other). The rule is RunRequest.order's docstring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.adapters.dynamodb.locks import LockOutcome
from seam.dependencies import Dependencies
from seam.models.deploy_order import DeployOrder
from seam.models.run import DatasetRef, RunRequest, TriggerKind

pytestmark = pytest.mark.tables("RunsTable", "LocksTable")

SECOND = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)  # whole: an S3 event's time, a schedule slot


def at(seconds: float) -> datetime:
    return SECOND + timedelta(seconds=seconds)


def req(trigger: TriggerKind, when: datetime, intent: str = "", **fields: Any) -> RunRequest:
    return RunRequest(
        stage="test",
        model="churn",
        trigger=trigger,
        intent=intent or f"{trigger}|{when}",
        requested_at=when,
        **fields,
    )


def drop(when: datetime = SECOND, key: str = "a", sequencer: str | None = None) -> RunRequest:
    dataset = DatasetRef(bucket="b", key=f"datasets/churn/{key}.csv")
    return req(TriggerKind.DATA, when, f"data|{key}|{sequencer}", dataset=dataset, sequencer=sequencer)


def approval(when: datetime, version: str = "000002") -> RunRequest:
    order = DeployOrder(kind="approval", version=version, model_package_arn=f"arn:pkg/{version}")
    return req(TriggerKind.APPROVAL, when, deploy=order)


def rollback(when: datetime, version: str = "000001") -> RunRequest:
    return req(TriggerKind.ROLLBACK, when, deploy=DeployOrder(kind="rollback", version=version))


# -- the order ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        req(TriggerKind.MANUAL, at(0.999999)),  # `seam trigger` late in the drop's second (µs)
        req(TriggerKind.MANUAL, at(0.5), dataset=DatasetRef(bucket="b", key="datasets/churn/k.csv")),
        req(TriggerKind.DRIFT, at(0.999)),  # an alarm's state time (ms)
        req(TriggerKind.SCHEDULE, SECOND),  # a slot starting that second
        req(TriggerKind.MANUAL, at(0.9), retry_of="seam-test-churn-000000000001"),
    ],
    ids=["manual", "manual --dataset", "drift", "schedule", "retry"],
)
def test_a_data_drop_is_newer_than_any_request_of_its_own_second(other: RunRequest) -> None:
    # S3's whole-second time is the floor of the write: the drop may be the last thing in its second.
    assert drop().order > other.order
    # ... and never newer than anything of the next second.
    assert drop().order < req(other.trigger, at(1), dataset=other.dataset, retry_of=other.retry_of).order


def test_a_schedule_slot_is_older_than_requests_with_a_fraction_of_its_second() -> None:
    slot = req(TriggerKind.SCHEDULE, SECOND)  # exact: the slot's first instant
    assert slot.order < req(TriggerKind.DRIFT, at(0.001)).order
    assert slot.order < req(TriggerKind.MANUAL, at(0.0001)).order
    assert slot.order > req(TriggerKind.MANUAL, at(-0.0001)).order


def test_requests_with_fractions_compare_at_milliseconds_then_by_rank() -> None:
    drift = req(TriggerKind.DRIFT, at(0.123))  # CloudWatch: milliseconds
    assert req(TriggerKind.MANUAL, at(0.124)).order > drift.order  # a later millisecond wins
    # Within drift's millisecond, a µs clock cannot say which came first: the rank decides.
    assert req(TriggerKind.MANUAL, at(0.123999)).order < drift.order
    assert req(TriggerKind.MANUAL, at(0.123)).order < drift.order
    # Same kind, same clock: every microsecond counts.
    assert req(TriggerKind.MANUAL, at(0.123001)).order > req(TriggerKind.MANUAL, at(0.123)).order


def test_two_writes_of_one_key_in_one_second_are_ordered_by_s3s_sequencer() -> None:
    first, second = drop(sequencer="0055AED6DCD90281E5"), drop(sequencer="0055AED6DCD90281E6")
    assert first.order < second.order
    assert drop(sequencer="55AED6DCD90281E5").order == drop(sequencer="55AED6DCD90281E5").order
    assert first.order != drop(key="b", sequencer="0055AED6DCD90281E5").order  # never tie


def test_a_rollback_wins_an_approval_of_the_same_millisecond_and_a_later_approval_wins_it() -> None:
    assert rollback(at(0.2001)).order > approval(at(0.2)).order
    assert approval(at(0.201)).order > rollback(at(0.2009)).order


def test_deploy_requests_and_retrains_wait_in_different_slots() -> None:
    assert approval(at(0.5)).lock_slot == rollback(at(0.5)).lock_slot == "deploy"
    retry_of_deploy = approval(at(0.5)).model_copy(update={"retry_of": "seam-test-churn-x"})
    assert retry_of_deploy.lock_slot == "deploy"
    kinds = (TriggerKind.DATA, TriggerKind.SCHEDULE, TriggerKind.DRIFT, TriggerKind.MANUAL)
    assert {req(k, SECOND).lock_slot for k in kinds} == {"retrain"}


# -- the lock: the bug this fixes, and the two slots --------------------------------------------------------


def test_a_drop_of_the_same_second_as_a_manual_run_holding_the_lock_waits_and_is_not_superseded(
    deps: Dependencies,
) -> None:
    manual = req(TriggerKind.MANUAL, at(0.7))  # µs: before the fix it made the drop look older
    assert deps.locks.acquire(manual) is LockOutcome.ACQUIRED

    assert deps.locks.acquire(drop()) is LockOutcome.COALESCED
    lock = deps.locks.get("churn")
    assert lock is not None and lock.pending == drop()


def test_an_approval_and_a_drop_both_wait_and_the_approval_takes_the_lock_first(deps: Dependencies) -> None:
    holder = req(TriggerKind.SCHEDULE, at(-60))
    deps.locks.acquire(holder)
    approved, data = approval(at(0.5)), drop()  # the approval in ms, the drop of the same second

    assert deps.locks.acquire(approved) is LockOutcome.COALESCED
    assert deps.locks.acquire(data) is LockOutcome.COALESCED
    later_approval = approval(at(0.6), version="000003")
    assert deps.locks.acquire(later_approval) is LockOutcome.COALESCED  # replaces only the approval

    lock = deps.locks.get("churn")
    assert lock is not None
    assert (lock.pending_run_id, lock.pending_deploy_run_id) == (data.run_id, later_approval.run_id)
    # The holder ends: the person's deploy runs first, the retrain keeps waiting behind it.
    assert deps.locks.release("churn", holder.run_id) == later_approval
    lock = deps.locks.get("churn")
    assert lock is not None and lock.holder == later_approval.run_id
    assert (lock.pending_run_id, lock.pending_deploy_run_id) == (data.run_id, None)
    assert deps.locks.release("churn", later_approval.run_id) == data
    assert deps.locks.release("churn", data.run_id) is None
    assert deps.locks.get("churn") is None


def test_a_deploy_run_holding_the_lock_never_supersedes_an_older_retrain(deps: Dependencies) -> None:
    approved = approval(at(5))
    deps.locks.acquire(approved)
    older_drop = drop(at(1))  # arrives after the approval took the lock, but happened before it

    assert deps.locks.acquire(older_drop) is LockOutcome.COALESCED
    assert deps.locks.release("churn", approved.run_id) == older_drop
    # A retrain older than the last retrain that held the lock is still superseded.
    deps.locks.release("churn", older_drop.run_id)
    assert deps.locks.acquire(drop(at(0), key="z")) is LockOutcome.SUPERSEDED
    # ... and an older approval than the last deploy run too.
    assert deps.locks.acquire(approval(at(4), version="000009")) is LockOutcome.SUPERSEDED
    assert deps.locks.acquire(approval(at(6), version="000009")) is LockOutcome.ACQUIRED
