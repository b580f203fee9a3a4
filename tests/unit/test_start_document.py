"""The document a run's execution starts with (seam.domain.starting.start_document): written from the
request alone, it must be what the whole document (WorkflowState) of the same values dumps, byte for
byte, and parse as one, for every kind of run the trigger starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from seam.domain.starting import start_document
from seam.models.deploy_order import DeployOrder
from seam.models.run import DatasetRef, RunRequest, TriggerKind
from seam.models.workflow_state import WorkflowState

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DATASET = DatasetRef(bucket="seam-data", key="datasets/churn/a.csv", version_id="v1", etag='"e"', size=10)
REQUESTS = {
    "data drop": RunRequest(
        stage="dev",
        model="churn",
        trigger=TriggerKind.DATA,
        intent="data|a|v1",
        dataset=DATASET,
        requested_at=AT,
    ),
    "forced manual": RunRequest(
        stage="dev", model="churn", trigger=TriggerKind.MANUAL, intent="manual|1", force=True, requested_at=AT
    ),
    "manual with a dataset key": RunRequest(
        stage="dev",
        model="churn",
        trigger=TriggerKind.MANUAL,
        intent="manual|2",
        dataset=DatasetRef(bucket="seam-data", key="datasets/churn/b.csv"),  # Validate pins its version
        requested_at=AT,
    ),
    "schedule": RunRequest(
        stage="dev", model="churn", trigger=TriggerKind.SCHEDULE, intent="s|1", requested_at=AT
    ),
    "approval": RunRequest(
        stage="dev",
        model="churn",
        trigger=TriggerKind.APPROVAL,
        intent="approval|arn|1",
        deploy=DeployOrder(kind="approval", version="000003", model_package_arn="arn:pkg/3"),
        requested_at=AT,
    ),
    "retry of a rollback": RunRequest(
        stage="dev",
        model="churn",
        trigger=TriggerKind.ROLLBACK,
        intent="retry|x",
        deploy=DeployOrder(kind="rollback", version="000001", requested_by="arn:me", note="bad"),
        retry_of="seam-dev-churn-000000000000",
        requested_at=AT,
    ),
}


@pytest.mark.parametrize("request_", REQUESTS.values(), ids=REQUESTS.keys())
def test_the_start_is_what_the_whole_document_of_the_same_values_dumps(request_: RunRequest) -> None:
    whole = WorkflowState(
        run_id=request_.run_id,
        model=request_.model,
        trigger=request_.trigger,
        dataset=request_.dataset,
        deploy=request_.deploy,
        force=request_.force,
    ).dump()

    start = start_document(request_)

    assert start == whole
    assert list(start) == list(whole)  # and in its order: the same bytes as StartExecution's input
    assert WorkflowState.model_validate(start).dump() == start
