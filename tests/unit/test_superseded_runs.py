"""SUPERSEDED run records: a request a newer one of its kind took the place of is recorded, with what it
asked for and the run that took its place, in the very write that replaced it; it never blocks or starts
anything, and costs nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.adapters.aws import add_client_hook
from seam.dependencies import Dependencies
from seam.domain.budgets import spent
from seam.domain.starting import TriggerOutcome, start_batch, start_or_coalesce
from seam.models.deploy_order import DeployOrder
from seam.models.run import DatasetRef, RunRequest, RunStatus, TriggerKind

from tests.unit.conftest import model_config

STAGE = "unit"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def drop(name: str, minute: int, model: str = "churn") -> RunRequest:
    return RunRequest(
        stage=STAGE,
        model=model,
        trigger=TriggerKind.DATA,
        intent=f"data|{name}",
        dataset=DatasetRef(bucket="b", key=f"datasets/{model}/{name}.csv", version_id=f"v-{name}"),
        requested_at=T0 + timedelta(minutes=minute),
    )


@pytest.fixture
def onboarded(deps: Dependencies, state_machine: str) -> Dependencies:
    deps.models.put(model_config(name="churn"))
    return deps


def start(deps: Dependencies, request: RunRequest) -> TriggerOutcome:
    return start_or_coalesce(request, deps.locks, deps.runs, deps.workflow)


def batch(deps: Dependencies, *requests: RunRequest) -> dict[str, Any]:
    return start_batch(list(requests), deps.models, deps.locks, deps.runs, deps.workflow)


def calls(operation: str) -> list[dict[str, Any]]:
    """The parameters of every DynamoDB `operation` call made from now on."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    add_client_hook(lambda c: c.meta.events.register(f"provide-client-params.dynamodb.{operation}", record))
    return seen


def test_the_replaced_pending_request_is_recorded_in_the_transaction_that_replaced_it(
    onboarded: Dependencies,
) -> None:
    holder, older, newer = drop("a", 0), drop("b", 1), drop("c", 2)
    start(onboarded, holder)
    assert start(onboarded, older) is TriggerOutcome.COALESCED
    transactions = calls("TransactWriteItems")

    assert start(onboarded, newer) is TriggerOutcome.COALESCED

    [items] = [t["TransactItems"] for t in transactions]
    update, put = items
    # The overwrite is conditional on the pending run id Seam read: what it records is what it replaced.
    assert update["Update"]["ExpressionAttributeValues"][":old"] == {"S": older.run_id}
    assert "pending_run_id = :old" in update["Update"]["ConditionExpression"]
    assert put["Put"]["Item"]["run_id"] == {"S": older.run_id}
    row = onboarded.runs.get(older.run_id)
    assert row is not None
    assert (row.status, row.trigger, row.dataset, row.superseded_by, row.started_at) == (
        RunStatus.SUPERSEDED,
        TriggerKind.DATA,
        older.dataset,
        newer.run_id,
        older.requested_at,
    )
    assert row.cost is None and row.training_job_name is None


def test_a_pending_request_that_changed_since_the_read_is_not_recorded_as_replaced(
    onboarded: Dependencies,
) -> None:
    holder, older, middle, newer = drop("a", 0), drop("b", 1), drop("m", 2), drop("c", 3)
    start(onboarded, holder)
    start(onboarded, older)
    # `newer` read `older` waiting; another container puts `middle` there before newer's write.
    raced = [False]

    def other_container(**_: Any) -> None:
        if not raced[0]:
            raced[0] = True
            start(onboarded, middle)

    add_client_hook(
        lambda c: c.meta.events.register("before-call.dynamodb.TransactWriteItems", other_container)
    )

    assert start(onboarded, newer) is TriggerOutcome.COALESCED

    lock = onboarded.locks.get("churn")
    assert lock is not None and lock.pending_run_id == newer.run_id
    rows = {r: onboarded.runs.get(r) for r in (older.run_id, middle.run_id)}
    # Each replaced request names the request that really replaced it.
    assert {r: (row.status, row.superseded_by) for r, row in rows.items() if row} == {
        older.run_id: (RunStatus.SUPERSEDED, middle.run_id),
        middle.run_id: (RunStatus.SUPERSEDED, newer.run_id),
    }


def test_a_request_older_than_what_waits_is_recorded_superseded_by_it(onboarded: Dependencies) -> None:
    holder, newer, late_older = drop("a", 0), drop("c", 2), drop("b", 1)
    start(onboarded, holder)
    start(onboarded, newer)

    assert start(onboarded, late_older) is TriggerOutcome.SUPERSEDED
    row = onboarded.runs.get(late_older.run_id)
    assert row is not None and (row.status, row.superseded_by) == (RunStatus.SUPERSEDED, newer.run_id)
    # A redelivery of it is already done: its record is kept, nothing starts.
    assert start(onboarded, late_older) is TriggerOutcome.ALREADY_DONE
    lock = onboarded.locks.get("churn")
    assert lock is not None and (lock.holder, lock.pending_run_id) == (holder.run_id, newer.run_id)


def test_a_batch_records_every_request_it_supersedes_in_its_one_transaction(onboarded: Dependencies) -> None:
    holder, waiting = drop("a", 0), drop("w", 1)
    start(onboarded, holder)
    start(onboarded, waiting)
    too_old, b, c, d = drop("old", -5), drop("b", 2), drop("c", 3), drop("d", 4)
    transactions = calls("TransactWriteItems")

    outcomes = batch(onboarded, too_old, b, c, d)

    assert outcomes == {
        too_old.run_id: TriggerOutcome.SUPERSEDED,
        b.run_id: TriggerOutcome.SUPERSEDED,
        c.run_id: TriggerOutcome.SUPERSEDED,
        d.run_id: TriggerOutcome.COALESCED,
    }
    assert len(transactions) == 1
    superseded_by = {
        r.run_id: (row.status, row.superseded_by)
        for r in (waiting, too_old, b, c)
        if (row := onboarded.runs.get(r.run_id))
    }
    assert superseded_by == {
        waiting.run_id: (RunStatus.SUPERSEDED, d.run_id),  # replaced in the slot
        too_old.run_id: (RunStatus.SUPERSEDED, waiting.run_id),  # older than what waited when read
        b.run_id: (RunStatus.SUPERSEDED, d.run_id),
        c.run_id: (RunStatus.SUPERSEDED, d.run_id),
    }
    assert onboarded.runs.get(d.run_id) is None  # it waits


def test_a_superseded_record_blocks_nothing_and_costs_nothing(onboarded: Dependencies) -> None:
    holder, older, newer = drop("a", 0), drop("b", 1), drop("c", 2)
    start(onboarded, holder)
    start(onboarded, older)
    start(onboarded, newer)
    onboarded.runs.update(holder.run_id, status=RunStatus.FAILED)

    assert onboarded.locks.release("churn", holder.run_id) == newer  # the superseded one is not handed on
    row = onboarded.runs.get(older.run_id)
    assert row is not None and row.status.terminal
    assert spent([row], "another-run", worst_case=100.0) == 0.0  # not spend, not a run still training


def test_a_superseded_deploy_request_names_its_version(onboarded: Dependencies) -> None:
    def approval(version: str, minute: int) -> RunRequest:
        order = DeployOrder(kind="approval", version=version, model_package_arn=f"arn:pkg/{version}")
        return RunRequest(
            stage=STAGE,
            model="churn",
            trigger=TriggerKind.APPROVAL,
            intent=f"approval|{version}",
            deploy=order,
            requested_at=T0 + timedelta(minutes=minute),
        )

    start(onboarded, drop("a", 0))
    first, second = approval("000002", 1), approval("000003", 2)
    start(onboarded, first)
    start(onboarded, second)

    row = onboarded.runs.get(first.run_id)
    assert row is not None
    assert (row.status, row.trigger, row.model_version, row.superseded_by) == (
        RunStatus.SUPERSEDED,
        TriggerKind.APPROVAL,
        "000002",
        second.run_id,
    )
    assert row.cause and "newer deploy request" in row.cause
