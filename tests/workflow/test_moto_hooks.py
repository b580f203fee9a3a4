"""Seam's hooks into moto internals must fail loudly, not silently, when moto changes underneath."""

import time
from types import ModuleType

import moto
import pytest
from seam_local import moto_hooks
from seam_local.moto_hooks.patching import Hook, Patch


def test_moto_is_the_version_the_hooks_were_written_against() -> None:
    assert moto.__version__ == moto_hooks.PINNED_MOTO_VERSION
    moto_hooks.check_moto_compatibility()  # signatures and attributes the hooks patch or set


@pytest.mark.parametrize("module", moto_hooks.MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_hook_module_finds_the_moto_members_it_touches(module: ModuleType) -> None:
    """Each module's check: the member is there (or, for an added one, still absent in moto), with the
    signature the replacement was written for, and the moto behaviour the hook works around persists."""
    module.check()


def test_a_different_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=r"targets moto 5\.2\.5, found 9\.9\.9"):
        moto_hooks.check_moto_compatibility()
    with pytest.raises(RuntimeError, match=r"found 9\.9\.9"), moto_hooks.install_transaction_backups():
        pass  # installing checks too


class _Moto:
    """Stands in for a moto class whose members change."""

    def invoke(self, body: str) -> str:
        return f"moto {body}"


def test_a_member_that_changed_underneath_is_refused() -> None:
    def seams(self: _Moto, body: str) -> str:
        return f"seam {body}"

    Patch(_Moto, "invoke", seams, params=("self", "body")).check()
    with pytest.raises(RuntimeError, match=r"_Moto\.invoke signature changed: \['self', 'body'\]"):
        Patch(_Moto, "invoke", seams, params=("self", "body", "headers")).check()
    with pytest.raises(RuntimeError, match=r"moto no longer has _Moto\.gone"):
        Patch(_Moto, "gone", seams).check()
    with pytest.raises(RuntimeError, match=r"moto now has _Moto\.invoke: drop Seam's"):
        Patch(_Moto, "invoke", seams, adds=True).check()


def test_hooks_nest_and_the_outermost_block_puts_moto_back() -> None:
    def seams(self: _Moto, body: str) -> str:
        return f"seam {body} for {hook.target}"

    hook: Hook[str] = Hook(
        [Patch(_Moto, "invoke", seams), Patch(_Moto, "stop", lambda self: "stopped", adds=True)]
    )
    with hook.installed("outer") as outer:
        assert outer == "outer" and _Moto().invoke("x") == "seam x for outer"
        with hook.installed("inner"):
            assert _Moto().invoke("x") == "seam x for inner"
        assert _Moto().invoke("x") == "seam x for outer" and _Moto().stop() == "stopped"  # type: ignore[attr-defined]
    assert hook.target is None and _Moto().invoke("x") == "moto x" and not hasattr(_Moto, "stop")


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
    import moto.dynamodb.models as dynamodb_models
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
    assert dynamodb_models.copy is copy  # moto's own copying is back after the block
