"""A run as the trigger opens it (seam.models.run_opening): the trigger writes these, not the whole run
record, so what it stores must be exactly the item a whole record of the same run stores; every reader
reads it back as a Run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from seam.dependencies import Dependencies
from seam.errors import ConfigRefusedError
from seam.models.deploy_order import DeployOrder
from seam.models.run import DatasetRef, RunRequest, RunStatus, TriggerKind
from seam.models.run_opening import RunOpening
from seam.models.run_record import Run

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DROP = RunRequest(
    stage="unit",
    model="churn",
    trigger=TriggerKind.DATA,
    intent="data|a|v1",
    dataset=DatasetRef(bucket="b", key="datasets/churn/a.csv", version_id="v1"),
    requested_at=AT,
)
APPROVAL = RunRequest(
    stage="unit",
    model="churn",
    trigger=TriggerKind.APPROVAL,
    intent="approval|arn|1",
    deploy=DeployOrder(kind="approval", version="000003", model_package_arn="arn:pkg/3"),
    retry_of="seam-unit-churn-000000000000",
    requested_at=AT,
)
OPENINGS = {
    "started drop": RunOpening.started(DROP),
    "started deploy run": RunOpening.started(APPROVAL),
    "superseded": RunOpening.superseded(DROP, by="seam-unit-churn-111111111111"),
    "superseded deploy run": RunOpening.superseded(APPROVAL, by="seam-unit-churn-222222222222"),
    "refused": RunOpening.refused(DROP, ConfigRefusedError("no serving target")),
}


def test_the_fields_a_run_fills_in_later_are_stored_as_the_whole_record_defaults_them() -> None:
    later = {name: f for name, f in Run.model_fields.items() if name not in RunOpening.model_fields}

    assert {name: f.get_default(call_default_factory=True) for name, f in later.items()} == RunOpening.LATER


@pytest.mark.parametrize("opening", OPENINGS.values(), ids=OPENINGS.keys())
def test_an_opening_is_stored_as_the_whole_record_of_the_same_run(opening: RunOpening) -> None:
    item = opening.item()

    assert set(item) == set(Run.model_fields)
    assert Run.model_validate(item).model_dump(mode="json") == item
    assert Run.model_validate(item).item() == item


def test_the_whole_records_openings_are_the_same_records() -> None:
    superseded = Run.superseded(DROP, by="seam-unit-churn-111111111111")

    assert isinstance(superseded, Run)
    assert superseded.status is RunStatus.SUPERSEDED
    assert superseded.cause == "superseded by seam-unit-churn-111111111111: a newer retrain request of churn"
    assert superseded.timeline == {"SUPERSEDED": superseded.finished_at}


def test_a_stored_opening_reads_back_as_a_run_with_the_item_a_run_stores(deps: Dependencies) -> None:
    opening = RunOpening.started(APPROVAL)

    assert deps.runs.create(opening) is True
    assert deps.runs.create(RunOpening.started(APPROVAL)) is False  # created once

    run = deps.runs.get(APPROVAL.run_id)
    assert run is not None
    assert run.model_dump(mode="json") == opening.item()
    assert run.status is RunStatus.STARTED
    assert run.model_version == "000003"
    assert run.timeline == {"STARTED": opening.started_at}
    assert deps.runs.status(APPROVAL.run_id) is RunStatus.STARTED
    assert deps.runs.status("seam-unit-churn-none") is None
