"""The trigger checks a model's stored config before a retrain starts (issue 13 item 6): a record written
some other way than `seam models put` that would fail the run after training ends the request FAILED
with the problems named, before any lock, execution or training job."""

from __future__ import annotations

from typing import Any

import pytest
from seam.adapters.dynamodb.codec import to_item
from seam.dependencies import Dependencies
from seam.domain.starting import TriggerOutcome, start_batch
from seam.errors import ConfigRefusedError
from seam.models.deploy_order import DeployOrder
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, RunRequest, RunStatus, TriggerKind, utc_now

from tests.unit.conftest import model_config

STAGE = "unit"


def valid(name: str = "churn") -> dict[str, Any]:
    """A config `seam models put` accepts (its label column among its columns), as stored."""
    columns = [{"name": "tenure", "dtype": "number"}, {"name": "churned", "dtype": "number"}]
    rules = {"format": "csv", "label_column": "churned", "min_rows": 3, "columns": columns}
    return model_config(name, validation=rules).model_dump(mode="json")


def store_raw(deps: Dependencies, name: str, config: dict[str, Any]) -> None:
    """A config record written straight to the table (the AWS CLI, a script): no check on the way in."""
    record = {"model": name, "config": config, "updated_at": utc_now().isoformat()}
    deps.models.ddb.put_item(TableName=deps.models.table, Item=to_item(record))


def drop(name: str, model: str = "churn") -> RunRequest:
    return RunRequest(
        stage=STAGE,
        model=model,
        trigger=TriggerKind.DATA,
        intent=f"data|{name}",
        dataset=DatasetRef(bucket="b", key=f"datasets/{model}/{name}.csv"),
    )


def batch(deps: Dependencies, *requests: RunRequest) -> dict[str, Any]:
    # The stack allows the example config's cluster (the unit stack's parameter allows none).
    cluster = model_config().serving.cluster  # type: ignore[union-attr]
    settings = deps.settings._replace(allowed_clusters_csv=cluster)
    return start_batch(list(requests), deps.models, deps.locks, deps.runs, deps.workflow, settings)


def executions(deps: Dependencies) -> list[str]:
    sfn = deps.workflow.sfn
    return [
        e["name"] for e in sfn.list_executions(stateMachineArn=deps.workflow.state_machine_arn)["executions"]
    ]


@pytest.fixture
def stores(deps: Dependencies, state_machine: str) -> Dependencies:
    return deps


def test_a_stored_config_whose_gate_metric_training_never_reports_ends_the_request_failed(
    stores: Dependencies,
) -> None:
    config = valid()
    config["evaluation"]["metric"] = "validation:f1"  # not among training.metric_definitions
    store_raw(stores, "churn", config)
    request = drop("a")

    outcome = batch(stores, request)[request.run_id]

    assert isinstance(outcome, ConfigRefusedError)
    assert "evaluation.metric 'validation:f1' is not one of training.metric_definitions" in str(outcome)
    run = stores.runs.get(request.run_id)
    assert run is not None and run.status is RunStatus.FAILED and run.error == "ConfigRefusedError"
    assert run.cause and "evaluation.metric 'validation:f1'" in run.cause and run.dataset == request.dataset
    assert executions(stores) == [] and stores.locks.get("churn") is None  # nothing started or held
    # Its event redelivered: already done, nothing else happens.
    assert batch(stores, request) == {request.run_id: TriggerOutcome.ALREADY_DONE}


def test_a_stored_config_that_does_not_parse_is_refused_naming_the_field(stores: Dependencies) -> None:
    config = valid()
    config["training"]["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:latest"
    store_raw(stores, "churn", config)
    request = drop("a")

    outcome = batch(stores, request)[request.run_id]

    assert isinstance(outcome, ConfigRefusedError)
    assert "training.image must be pinned by an @sha256 digest" in str(outcome)
    assert executions(stores) == []


def test_a_cluster_the_stack_does_not_allow_is_refused(stores: Dependencies) -> None:
    config = valid()
    assert config["serving"] is not None
    config["serving"]["cluster"] = "someone-elses-cluster"
    store_raw(stores, "churn", config)

    outcome = batch(stores, drop("a"))[drop("a").run_id]

    assert isinstance(outcome, ConfigRefusedError) and "serving.cluster 'someone-elses-cluster'" in str(
        outcome
    )


def test_a_good_config_starts_and_only_the_bad_models_requests_are_refused(stores: Dependencies) -> None:
    store_raw(stores, "churn", valid())
    bad = valid("fraud")
    bad["validation"]["label_column"] = "left"  # not among validation.columns
    store_raw(stores, "fraud", bad)
    good, refused = drop("a"), drop("a", "fraud")

    outcomes = batch(stores, good, refused)

    assert outcomes[good.run_id] is TriggerOutcome.STARTED
    assert isinstance(outcomes[refused.run_id], ConfigRefusedError)
    assert "validation.label_column 'left' is not among validation.columns" in str(outcomes[refused.run_id])
    assert executions(stores) == [good.run_id]


def test_a_deploy_request_is_not_held_back_by_a_training_problem(stores: Dependencies) -> None:
    config = valid()
    config["evaluation"]["metric"] = "validation:f1"  # a training problem: a rollback trains nothing
    store_raw(stores, "churn", config)
    rollback = RunRequest(
        stage=STAGE,
        model="churn",
        trigger=TriggerKind.ROLLBACK,
        intent="rollback|000001|r1",
        deploy=DeployOrder(kind="rollback", version="000001", requested_by="alice", note="p99"),
    )

    assert batch(stores, rollback) == {rollback.run_id: TriggerOutcome.STARTED}


def test_a_config_saved_after_seam_models_puts_check_is_not_parsed_again(
    stores: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seam.domain.onboarding as onboarding

    checked: list[str] = []
    real = onboarding.stored_config_problems
    monkeypatch.setattr(
        onboarding, "stored_config_problems", lambda r, s: checked.append(r["model"]) or real(r, s)
    )
    cluster = model_config().serving.cluster  # type: ignore[union-attr]
    stores.models.put(ModelConfig.model_validate(valid()), checked_for=[cluster])  # as `seam models put`
    request = drop("a")

    assert batch(stores, request) == {request.run_id: TriggerOutcome.STARTED}
    assert checked == []  # its marker matches the stored config and this stack's allowed clusters

    # Edited in the table afterwards (the marker no longer matches): checked, and refused.
    record = stores.models.read("churn")
    assert record is not None
    record["config"]["evaluation"]["metric"] = "validation:f1"
    stores.models.ddb.put_item(TableName=stores.models.table, Item=to_item(record))
    later = drop("b")
    assert isinstance(batch(stores, later)[later.run_id], ConfigRefusedError)
    assert checked == ["churn"]
