"""DynamoDB stores on the template's tables (moto): the conditional writes that guard Seam's invariants."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.adapters.aws import add_client_hook
from seam.adapters.dynamodb.codec import from_item, to_item
from seam.adapters.dynamodb.locks import LockOutcome
from seam.adapters.dynamodb.models import ModelStore
from seam.dependencies import Dependencies
from seam.errors import ConfigError, ModelNotFoundError, StaleUpdateError
from seam.models.champion import Champion
from seam.models.run import TERMINAL_STATUSES, DatasetRef, Run, RunRequest, RunStatus, TriggerKind, utc_now
from seam.models.sweep import HeldLock, QuietRun
from seam.models.version import ModelVersion

from tests.stored import stored_versions
from tests.unit.conftest import IMAGE, model_config

pytestmark = pytest.mark.tables(
    "ModelsTable", "RunsTable", "ModelVersionsTable", "TaskTokensTable", "LocksTable"
)


def run(run_id: str = "seam-churn-000000000001", model: str = "churn", **fields: Any) -> Run:
    return Run(run_id=run_id, model=model, trigger=TriggerKind.DATA, **fields)


def request(intent: str, model: str = "churn") -> RunRequest:
    return RunRequest(stage="test", model=model, trigger=TriggerKind.MANUAL, intent=intent)


def concurrently(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run `action(i)` in `count` threads released together; the results in thread order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = action(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# -- item conversion -----------------------------------------------------------------------------------------


def test_items_round_trip_floats_ints_nested_values_and_drop_nones() -> None:
    data = {"a": 0.1, "b": 3, "c": {"d": [1.5, 2, "x"]}, "e": None, "f": True}

    item = to_item(data)

    assert "e" not in item
    assert item["a"] == {"N": "0.1"}
    assert from_item(item) == {"a": 0.1, "b": 3, "c": {"d": [1.5, 2, "x"]}, "f": True}
    assert isinstance(from_item(item)["b"], int)


JSON_VALUES = {
    "text": "churn é",
    "empty": "",
    "int": 7,
    "negative": -12,
    "big": 10**37,
    "float": 0.1,
    "tiny": 1.5e-120,
    "exp": 2.5e100,
    "flag": False,
    "list": [1, "a", [2.25, None], {"k": True}],
    "map": {"nested": {"deeper": [0, -0.5]}, "none": None},
    "empty_list": [],
    "empty_map": {},
}


def test_items_are_what_boto3s_type_serializer_gives_and_read_back_like_its_deserializer() -> None:
    """Seam writes attribute values without importing boto3 (cold start); boto3 is the reference."""
    import json
    from decimal import Decimal

    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    plain = json.loads(json.dumps(JSON_VALUES), parse_float=Decimal)
    expected = {k: TypeSerializer().serialize(v) for k, v in plain.items()}

    item = to_item(JSON_VALUES)

    assert item == expected

    def as_json_number(number: Decimal) -> int | float:
        return int(number) if number == number.to_integral_value() else float(number)

    decoded = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
    assert from_item(item) == json.loads(json.dumps(decoded, default=as_json_number))
    assert from_item(item) == {**JSON_VALUES, "exp": int(Decimal("2.5e100"))}  # integral: an int


def test_a_number_dynamodb_cannot_hold_is_refused_not_rounded() -> None:
    from decimal import Inexact, Overflow

    with pytest.raises(Inexact):
        to_item({"n": 10**40 + 1})  # 41 significant digits
    with pytest.raises(Overflow):
        to_item({"n": 1e300})


# -- RunStore ------------------------------------------------------------------------------------------------


def test_a_run_is_created_once_and_never_replaced(deps: Dependencies) -> None:
    assert deps.runs.create(run(metrics={"auc": 0.5})) is True
    assert deps.runs.create(run(metrics={"auc": 0.9})) is False

    stored = deps.runs.get("seam-churn-000000000001")
    assert stored is not None and stored.metrics == {"auc": 0.5}
    assert deps.runs.get("seam-churn-missing") is None


def test_an_update_sets_fields_and_stamps_the_status_on_the_timeline(deps: Dependencies) -> None:
    created = run()
    deps.runs.create(created)
    dataset = DatasetRef(bucket="b", key="datasets/churn/a.csv", etag="e", size=3)

    deps.runs.update(
        created.run_id,
        status=RunStatus.TRAINING,
        training_job_name="job",
        dataset=dataset.model_dump(mode="json"),
    )

    stored = deps.runs.get(created.run_id)
    assert stored is not None
    assert (stored.status, stored.training_job_name, stored.dataset) == (RunStatus.TRAINING, "job", dataset)
    assert set(stored.timeline) == {"STARTED", "TRAINING"}
    assert stored.timeline["STARTED"] == created.started_at
    assert stored.timeline["TRAINING"] >= created.started_at
    assert stored.updated_at == stored.timeline["TRAINING"]


def test_an_update_without_a_status_leaves_the_timeline_alone(deps: Dependencies) -> None:
    deps.runs.create(run())
    deps.runs.update("seam-churn-000000000001", metrics={"auc": 0.91, "loss": 1})

    stored = deps.runs.get("seam-churn-000000000001")
    assert stored is not None
    assert (stored.metrics, list(stored.timeline)) == ({"auc": 0.91, "loss": 1.0}, ["STARTED"])


def test_a_terminal_status_is_never_overwritten(deps: Dependencies) -> None:
    for terminal in sorted(TERMINAL_STATUSES):
        run_id = f"seam-churn-{terminal.lower()}"
        deps.runs.create(run(run_id))
        deps.runs.update(run_id, status=terminal, cause="the outcome")
        before = deps.runs.get(run_id)

        with pytest.raises(StaleUpdateError, match=f"run {run_id} is missing or already ended"):
            deps.runs.update(run_id, status=RunStatus.TRAINING, cause="a late event")
        with pytest.raises(StaleUpdateError):
            deps.runs.update(run_id, metrics={"auc": 0.1})

        assert deps.runs.get(run_id) == before, terminal


def test_updating_a_run_that_does_not_exist_is_stale_and_creates_nothing(deps: Dependencies) -> None:
    with pytest.raises(StaleUpdateError, match="missing or already ended"):
        deps.runs.update("seam-churn-nobody", status=RunStatus.TRAINING)
    assert deps.runs.get("seam-churn-nobody") is None


def test_runs_of_a_model_are_listed_newest_first(deps: Dependencies) -> None:
    t0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    for i in range(5):
        deps.runs.create(run(f"seam-churn-00000000000{i}", started_at=t0 + timedelta(minutes=i)))
    deps.runs.create(run("seam-fraud-000000000001", model="fraud", started_at=t0 + timedelta(hours=1)))

    listed = deps.runs.list_for_model("churn", limit=3)

    assert [r.run_id for r in listed] == [
        "seam-churn-000000000004",
        "seam-churn-000000000003",
        "seam-churn-000000000002",
    ]


def test_runs_in_a_status_are_listed_when_not_updated_since_the_cutoff(deps: Dependencies) -> None:
    old = utc_now() - timedelta(hours=2)
    deps.runs.create(run("seam-churn-stale", status=RunStatus.TRAINING, started_at=old, updated_at=old))
    deps.runs.create(
        run("seam-churn-validating", status=RunStatus.VALIDATING, started_at=old, updated_at=old)
    )
    deps.runs.create(run("seam-churn-fresh", started_at=old, updated_at=old))
    deps.runs.update("seam-churn-fresh", status=RunStatus.TRAINING)

    stale = deps.runs.list_by_status(RunStatus.TRAINING, updated_before=utc_now() - timedelta(hours=1))

    assert [r.run_id for r in stale] == ["seam-churn-stale"]


def test_a_quiet_run_is_read_as_the_job_it_waits_for_and_when_it_was_last_heard_of(
    deps: Dependencies,
) -> None:
    old = utc_now() - timedelta(hours=2)
    training = run("seam-churn-training", status=RunStatus.TRAINING, started_at=old, updated_at=old)
    deps.runs.create(training.model_copy(update={"training_job_name": "seam-churn-training"}))
    scoring = run("seam-churn-scoring", status=RunStatus.SCORING, started_at=old, updated_at=old)
    deps.runs.create(scoring.model_copy(update={"champion_scoring_job_name": "seam-churn-scoring-champion"}))
    cutoff = utc_now() - timedelta(hours=1)

    [quiet] = deps.runs.list_by_status(RunStatus.TRAINING, updated_before=cutoff)
    [scored] = deps.runs.list_by_status(RunStatus.SCORING, updated_before=cutoff)

    assert quiet == QuietRun("seam-churn-training", RunStatus.TRAINING, old, "seam-churn-training", None)
    assert quiet.waiting_for == "seam-churn-training"
    assert scored.waiting_for == "seam-churn-scoring-champion"  # its champion's Processing job


# -- TokenStore ----------------------------------------------------------------------------------------------


def test_a_token_is_stored_under_the_job_name_with_a_ttl(deps: Dependencies) -> None:
    deps.tokens.put("job-1", "token-1", "run-1")

    token = deps.tokens.get("job-1")
    assert token is not None
    assert (token.training_job_name, token.task_token, token.run_id, token.settled) == (
        "job-1",
        "token-1",
        "run-1",
        None,
    )
    item = deps.tokens.ddb.get_item(TableName=deps.tokens.table, Key={"training_job_name": {"S": "job-1"}})[
        "Item"
    ]
    expires = int(item["expires_at"]["N"])
    assert abs(expires - (utc_now() + timedelta(days=35)).timestamp()) < 60
    assert deps.tokens.get("job-2") is None


def test_a_retried_launch_replaces_an_open_token_but_never_a_settled_one(deps: Dependencies) -> None:
    deps.tokens.put("job-1", "token-1", "run-1")
    deps.tokens.put("job-1", "token-2", "run-1")
    assert deps.tokens.get("job-1").task_token == "token-2"  # type: ignore[union-attr]

    deps.tokens.claim("job-1", "success")
    deps.tokens.put("job-1", "token-3", "run-1")

    token = deps.tokens.get("job-1")
    assert token is not None and (token.task_token, token.settled) == ("token-2", "success")


def test_a_token_is_claimed_exactly_once_across_20_concurrent_threads(
    deps: Dependencies, atomic_dynamodb: None
) -> None:
    deps.tokens.put("job-1", "token-1", "run-1")
    outcomes = ["success", "failure"] * 10

    won = concurrently(20, lambda i: deps.tokens.claim("job-1", outcomes[i]))

    assert won.count(True) == 1 and won.count(False) == 19
    assert deps.tokens.get("job-1").settled == outcomes[won.index(True)]  # type: ignore[union-attr]


def test_a_token_that_does_not_exist_cannot_be_claimed(deps: Dependencies) -> None:
    assert deps.tokens.claim("job-nobody", "success") is False
    assert deps.tokens.get("job-nobody") is None


def test_an_unclaimed_token_can_be_claimed_again(deps: Dependencies) -> None:
    deps.tokens.put("job-1", "token-1", "run-1")
    assert deps.tokens.claim("job-1", "success") is True

    deps.tokens.unclaim("job-1")

    assert deps.tokens.get("job-1").settled is None  # type: ignore[union-attr]
    assert deps.tokens.claim("job-1", "failure") is True
    assert deps.tokens.get("job-1").settled == "failure"  # type: ignore[union-attr]


# -- LockStore -----------------------------------------------------------------------------------------------


def test_a_free_model_lock_is_acquired_with_the_holders_request(deps: Dependencies) -> None:
    first = request("a")

    assert deps.locks.acquire(first) is LockOutcome.ACQUIRED
    assert deps.locks.acquire(first) is LockOutcome.ACQUIRED  # the holder asking again still holds it

    lock = deps.locks.get("churn")
    assert lock is not None
    assert (lock.model, lock.holder) == ("churn", first.run_id)
    assert lock.holder_request == first
    assert lock.pending is None


def test_requests_while_held_are_coalesced_into_one_pending_the_newest(deps: Dependencies) -> None:
    first, second, third = request("a"), request("b"), request("c")
    deps.locks.acquire(first)

    assert deps.locks.acquire(second) is LockOutcome.COALESCED
    assert deps.locks.acquire(third) is LockOutcome.COALESCED

    lock = deps.locks.get("churn")
    assert lock is not None
    assert (lock.holder, lock.pending_run_id) == (first.run_id, third.run_id)
    assert lock.pending == third


def test_locks_of_different_models_are_independent(deps: Dependencies) -> None:
    assert deps.locks.acquire(request("a", "churn")) is LockOutcome.ACQUIRED
    assert deps.locks.acquire(request("a", "fraud")) is LockOutcome.ACQUIRED
    assert sorted(lock.model for lock in deps.locks.list()) == ["churn", "fraud"]


def test_the_held_locks_are_listed_with_holder_and_since_and_a_released_one_is_not(
    deps: Dependencies,
) -> None:
    held, freed = request("a", "churn"), request("a", "fraud")
    deps.locks.acquire(held)
    deps.locks.acquire(freed)
    deps.locks.release("fraud", freed.run_id)  # the item stays (its orders), the lock is free

    [lock] = deps.locks.list()

    whole = deps.locks.get("churn")
    assert whole is not None
    assert lock == HeldLock("churn", held.run_id, whole.since)


def test_releasing_without_a_pending_request_frees_the_model(deps: Dependencies) -> None:
    first = request("a")
    deps.locks.acquire(first)

    assert deps.locks.release("churn", first.run_id) is None
    assert deps.locks.get("churn") is None
    assert deps.locks.release("churn", first.run_id) is None  # releasing twice is harmless
    assert deps.locks.acquire(request("b")) is LockOutcome.ACQUIRED


def test_releasing_hands_the_lock_over_to_the_pending_request(deps: Dependencies) -> None:
    first, pending = request("a"), request("b")
    deps.locks.acquire(first)
    deps.locks.acquire(pending)

    assert deps.locks.release("churn", first.run_id) == pending

    lock = deps.locks.get("churn")
    assert lock is not None
    assert lock.holder == pending.run_id
    assert lock.holder_request == pending
    assert lock.pending is None and lock.pending_run_id is None
    assert deps.locks.acquire(request("c")) is LockOutcome.COALESCED


def test_a_release_by_a_run_that_does_not_hold_the_lock_is_a_no_op(deps: Dependencies) -> None:
    holder, pending = request("a"), request("b")
    deps.locks.acquire(holder)
    deps.locks.acquire(pending)
    before = deps.locks.get("churn")

    assert deps.locks.release("churn", pending.run_id) is None
    assert deps.locks.release("churn", "seam-churn-stranger") is None
    assert deps.locks.release("fraud", holder.run_id) is None

    assert deps.locks.get("churn") == before


def interleave(operation: str, action: Callable[[], Any], before: int = 1) -> None:
    """Run `action` once, just before this store's `before`-th `operation` call from now on: another
    Lambda's write landing between the store's read (or first write) and its conditional write."""
    seen = [0]

    def hook(**_: Any) -> None:
        seen[0] += 1
        if seen[0] == before:
            action()

    add_client_hook(lambda c: c.meta.events.register(f"provide-client-params.dynamodb.{operation}", hook))


def test_a_request_coalesced_while_the_holder_releases_is_handed_over_not_dropped(deps: Dependencies) -> None:
    holder, late = request("a"), request("b")
    deps.locks.acquire(holder)
    # The holder read the lock without a pending request; the late request coalesces before the write
    # that frees the lock (an UpdateItem: the item stays, keeping the last holder's order).
    interleave("UpdateItem", lambda: deps.locks.acquire(late))

    assert deps.locks.release("churn", holder.run_id) == late

    lock = deps.locks.get("churn")
    assert lock is not None and lock.holder == late.run_id


def test_a_lock_freed_between_the_acquire_and_the_coalesce_is_acquired(deps: Dependencies) -> None:
    holder, late = request("a"), request("b")
    deps.locks.acquire(holder)
    # The late request found the lock held; the holder releases it before the late one coalesces.
    interleave("UpdateItem", lambda: deps.locks.release("churn", holder.run_id), before=2)

    assert deps.locks.acquire(late) is LockOutcome.ACQUIRED

    lock = deps.locks.get("churn")
    assert lock is not None and lock.holder == late.run_id and lock.pending is None


def test_concurrent_requests_for_a_free_model_give_one_holder_and_one_pending(
    deps: Dependencies, atomic_dynamodb: None
) -> None:
    requests = [request(f"r{i}") for i in range(10)]

    outcomes = concurrently(10, lambda i: deps.locks.acquire(requests[i]))

    assert outcomes.count(LockOutcome.ACQUIRED) == 1
    lock = deps.locks.get("churn")
    assert lock is not None
    assert lock.holder == requests[outcomes.index(LockOutcome.ACQUIRED)].run_id
    # Whoever won the race, the newest request (by the events' order) ends up holding or pending.
    newest = max(requests, key=lambda r: r.order)
    assert lock.pending_run_id == (None if lock.holder == newest.run_id else newest.run_id)
    assert set(outcomes) <= {LockOutcome.ACQUIRED, LockOutcome.COALESCED, LockOutcome.SUPERSEDED}


# -- VersionStore --------------------------------------------------------------------------------------------


def champion(version: str, run_id: str, value: float = 0.8) -> Champion:
    return Champion(
        model="churn",
        version=version,
        metric="auc",
        value=value,
        run_id=run_id,
        dataset_fingerprint=f"etag-{version}",
    )


def test_the_first_champion_is_promoted_only_if_there_is_none(deps: Dependencies) -> None:
    assert deps.versions.champion("churn") is None
    deps.versions.promote(champion("000001", "run-1"), replaces=None)

    with pytest.raises(StaleUpdateError, match=r"champion of churn moved since evaluation \(expected None\)"):
        deps.versions.promote(champion("000002", "run-2"), replaces=None)

    current = deps.versions.champion("churn")
    assert current is not None
    assert current.model_dump(exclude={"updated_at"}) == champion("000001", "run-1").model_dump(
        exclude={"updated_at"}
    )


def test_promotion_moves_the_champion_only_from_the_version_the_challenger_beat(deps: Dependencies) -> None:
    deps.versions.promote(champion("000001", "run-1"), replaces=None)

    # Two challengers were both evaluated against 000001; the first promotion wins the race.
    deps.versions.promote(champion("000002", "run-2", 0.85), replaces="000001")
    with pytest.raises(
        StaleUpdateError, match=r"champion of churn moved since evaluation \(expected 000001\)"
    ):
        deps.versions.promote(champion("000003", "run-3", 0.95), replaces="000001")

    current = deps.versions.champion("churn")
    assert current is not None and (current.version, current.run_id, current.value) == (
        "000002",
        "run-2",
        0.85,
    )


def test_concurrent_promotions_over_the_same_champion_move_it_once(
    deps: Dependencies, atomic_dynamodb: None
) -> None:
    deps.versions.promote(champion("000001", "run-1"), replaces=None)

    def promote(i: int) -> bool:
        try:
            deps.versions.promote(champion(f"00001{i}", f"run-1{i}"), replaces="000001")
            return True
        except StaleUpdateError:
            return False

    won = concurrently(8, promote)

    assert won.count(True) == 1
    assert deps.versions.champion("churn").version == f"00001{won.index(True)}"  # type: ignore[union-attr]


def test_versions_are_listed_in_order_without_the_champion_pointer(deps: Dependencies) -> None:
    for number in (2, 1, 10):
        deps.versions.put_version(
            ModelVersion(
                model="churn",
                version=f"{number:06d}",
                model_package_arn=f"arn:aws:sagemaker:us-east-1:123456789012:model-package/seam-unit-churn/{number}",
                approval="Approved",
                run_id=f"run-{number}",
                training_job_name=f"run-{number}",
                image=IMAGE,
                model_artifact_uri="s3://b/m.tar.gz",
                dataset=DatasetRef(bucket="b", key="datasets/churn/a.csv"),
                metrics={"auc": 0.5 + number / 100},
            )
        )
    deps.versions.promote(champion("000010", "run-10"), replaces=None)

    listed = stored_versions(deps.versions, "churn")

    assert [v.version for v in listed] == ["000001", "000002", "000010"]
    assert listed[2].metrics == {"auc": 0.6}
    assert stored_versions(deps.versions, "fraud") == []


# -- ModelStore ----------------------------------------------------------------------------------------------


def test_a_model_config_round_trips(deps: Dependencies) -> None:
    config = model_config()
    deps.models.put(config)

    assert deps.models.get("churn") == config


def test_a_model_that_is_not_onboarded_is_not_found(deps: Dependencies) -> None:
    with pytest.raises(ModelNotFoundError, match="model 'fraud' is not onboarded"):
        deps.models.get("fraud")


def test_models_are_listed_and_found_by_drift_alarm(deps: Dependencies) -> None:
    deps.models.put(model_config("churn", drift_alarms=["shared", "churn-drift"]))
    deps.models.put(model_config("fraud", drift_alarms=["shared"]))
    deps.models.put(model_config("upsell", drift_alarms=[]))

    assert sorted(c.name for c in deps.models.list()) == ["churn", "fraud", "upsell"]
    assert sorted(c.name for c in deps.models.for_alarm("shared")) == ["churn", "fraud"]
    assert [c.name for c in deps.models.for_alarm("churn-drift")] == ["churn"]
    assert deps.models.for_alarm("nobody") == []


def test_the_model_list_is_cached_but_a_put_through_the_store_refreshes_it(deps: Dependencies) -> None:
    store, elsewhere = deps.models, ModelStore(deps.settings.models_table)
    store.put(model_config("churn"))
    assert [c.name for c in store.list()] == ["churn"]

    elsewhere.put(model_config("fraud"))  # another container onboarded a model
    assert [c.name for c in store.list()] == ["churn"]
    assert sorted(c.name for c in store.list(fresh=True)) == ["churn", "fraud"]

    store.put(model_config("upsell"))
    assert sorted(c.name for c in store.list()) == ["churn", "fraud", "upsell"]


@pytest.mark.parametrize(
    "item",
    [
        {"model": {"S": "broken"}, "config": {"M": {"name": {"S": "broken"}}}},
        {"model": {"S": "broken"}},
        {"model": {"S": "broken"}, "config": {"M": {"name": {"S": "Broken!"}, "team": {"S": "t"}}}},
    ],
    ids=["missing-fields", "no-config", "invalid-values"],
)
def test_a_corrupt_stored_config_is_a_config_error_naming_the_model(
    deps: Dependencies, item: dict[str, Any]
) -> None:
    deps.models.ddb.put_item(TableName=deps.models.table, Item=item)

    with pytest.raises(ConfigError, match="stored config for 'broken' is invalid"):
        deps.models.get("broken")
    with pytest.raises(ConfigError, match="'broken'"):
        deps.models.list(fresh=True)


def serving(deployment: str) -> dict[str, str]:
    return {"cluster": "seam-local", "namespace": "ml-serving", "deployment": deployment, "container": "m"}


def test_one_model_per_serving_deployment(deps: Dependencies) -> None:
    deps.models.put(model_config("churn", serving=serving("shared")))
    deps.models.put(model_config("churn", serving=serving("shared"), team="again"))  # a re-put is fine

    with pytest.raises(ConfigError, match=r"seam-local/ml-serving/shared is already served by model 'churn'"):
        deps.models.put(model_config("fraud", serving=serving("shared")))
    with pytest.raises(ModelNotFoundError):
        deps.models.get("fraud")  # refused whole: neither the config nor the claim was written

    deps.models.put(model_config("churn", serving=serving("churn-own")))  # churn moves: frees "shared"
    deps.models.put(model_config("fraud", serving=serving("shared")))
    assert deps.models.get("fraud").serving == model_config("fraud", serving=serving("shared")).serving
    with pytest.raises(ConfigError, match="already served by model 'fraud'"):
        deps.models.put(model_config("upsell", serving=serving("shared")))
    assert sorted(c.name for c in deps.models.list(fresh=True)) == ["churn", "fraud"]  # claims aren't models


# -- ServingTargetStore --------------------------------------------------------------------------------------


def test_a_models_serving_target_is_read_alone_as_the_full_config_holds_it(deps: Dependencies) -> None:
    deps.models.put(model_config("churn", serving=serving("churn-predictor")))
    deps.models.put(model_config("batch-only", serving=None))

    assert deps.serving_targets.get("churn") == deps.models.get("churn").serving
    assert deps.serving_targets.get("batch-only") is None
    with pytest.raises(ModelNotFoundError, match="model 'fraud' is not onboarded"):
        deps.serving_targets.get("fraud")


@pytest.mark.parametrize(
    "config",
    [
        {"M": {"name": {"S": "broken"}, "serving": {"M": {"cluster": {"S": "c"}}}}},
        {"M": {"name": {"S": "broken"}, "serving": {"S": "ml-serving/predictor"}}},
        {"S": "not a config"},
    ],
    ids=["missing-fields", "not-a-target", "not-a-config"],
)
def test_a_corrupt_stored_serving_target_is_a_config_error_naming_the_model(
    deps: Dependencies, config: dict[str, Any]
) -> None:
    deps.models.ddb.put_item(TableName=deps.models.table, Item={"model": {"S": "broken"}, "config": config})

    with pytest.raises(ConfigError, match="stored config for 'broken' has an invalid serving target"):
        deps.serving_targets.get("broken")
