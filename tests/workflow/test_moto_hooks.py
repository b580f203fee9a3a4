"""Seam's hooks into moto internals must fail loudly, not silently, when moto changes underneath."""

import time

import moto
import pytest
from seam_local import moto_hooks


def test_moto_is_the_version_the_hooks_were_written_against() -> None:
    assert moto.__version__ == moto_hooks.PINNED_MOTO_VERSION
    moto_hooks.check_moto_compatibility()  # signatures and attributes the hooks patch or set


def test_a_different_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=r"targets moto 5\.2\.5, found 9\.9\.9"):
        moto_hooks.check_moto_compatibility()


def test_lambda_tasks_run_in_process_through_the_hook(harness) -> None:
    """The interpreter really calls our handlers (not moto's canned Lambda response)."""
    from tests.workflow.harness import model_config

    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)
    # An invocation is recorded when its handler returns, just after LaunchTraining created the job.
    deadline = time.monotonic() + 10
    while len(harness.stack.runtime.invocations) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    invoked = [i.function_name for i in harness.stack.runtime.invocations]
    assert invoked[:3] == ["seam-test-trigger", "seam-test-validate", "seam-test-launch-training"]


def _locks_table(ddb) -> None:
    ddb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name in ("a", "b", "c"):
        ddb.put_item(TableName="locks", Item={"model": {"S": name}, "pending": {"S": "old"}})


def _pending_update(model: str, condition: str) -> dict:
    return {
        "Update": {
            "TableName": "locks",
            "Key": {"model": {"S": model}},
            "UpdateExpression": "SET pending = :new",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":new": {"S": "new"}, ":old": {"S": "old"}},
        }
    }


def test_transactions_back_each_table_up_once_and_still_roll_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto deep-copies a table per transaction item; the hook copies it once per transaction, and a
    cancelled transaction still leaves every item as it was."""
    import copy

    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    table_copies = []
    deepcopy = copy.deepcopy

    def counting(value, memo=None):
        if isinstance(value, Table):
            table_copies.append(value.name)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    with mock_aws(), moto_hooks.install_transaction_backups():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _locks_table(ddb)
        ddb.transact_write_items(TransactItems=[_pending_update(m, "pending = :old") for m in "ab"])
        assert table_copies == ["locks"]

        with pytest.raises(ClientError, match="TransactionCanceledException"):
            ddb.transact_write_items(
                TransactItems=[_pending_update("c", "pending = :old"), _pending_update("a", "pending = :old")]
            )
        items = {i["model"]["S"]: i["pending"]["S"] for i in ddb.scan(TableName="locks")["Items"]}
        assert items == {"a": "new", "b": "new", "c": "old"}  # c's write was rolled back with a's failure
    assert moto_hooks.dynamodb_models.copy is copy  # moto's own copying is back after the block
