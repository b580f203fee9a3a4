"""From an event to run requests (requests_for), the schedule, run ids, and start-or-coalesce."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from seam.adapters.dynamodb.models import ModelStore
from seam.dependencies import Dependencies
from seam.domain.starting import TriggerOutcome, start_batch, start_or_coalesce
from seam.domain.triggering import Ignored, is_due, requests_for, scheduled_request
from seam.errors import BadEventError, ModelNotFoundError
from seam.models.events import QueuedRequest, parse_trigger_body
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, RunRequest, RunStatus, TriggerKind
from seam.models.training_events import parse_training_body

from tests.unit.conftest import model_config

pytestmark = pytest.mark.tables("ModelsTable", "RunsTable", "LocksTable")

EVENTS = Path(__file__).resolve().parents[2] / "events"
BUCKET = "seam-unit-databucket-123456789012"
STAGE = "unit"
TRAINING_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def sample(path: str) -> dict[str, Any]:
    return json.loads((EVENTS / path).read_text())


def s3_event(key: str = "datasets/churn/2026-11-22/train.csv", bucket: str = BUCKET, **obj: Any) -> Any:
    event = sample("s3/object_created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"] = {**event["detail"]["object"], "key": key, **obj}
    return parse_trigger_body(json.dumps(event))


def alarm_event(alarm: str = "churn-feature-drift", state: str = "ALARM", at: str | None = None) -> Any:
    event = sample("cloudwatch/alarm_state_change_alarm.json")
    event["detail"]["alarmName"] = alarm
    event["detail"]["state"]["value"] = state
    if at:
        event["detail"]["state"]["timestamp"] = at
    return parse_trigger_body(json.dumps(event))


def tick(at: str, tick_id: str = "tick-1") -> Any:
    return parse_trigger_body(json.dumps({**sample("schedule/tick.json"), "time": at, "id": tick_id}))


def manual(model: str = "churn", request_id: str = "req-1") -> Any:
    event = sample("manual/retrain_requested.json")
    event["id"] = request_id
    event["detail"]["model"] = model
    return parse_trigger_body(json.dumps(event))


class MemoryModels(ModelStore):
    """ModelStore over a dict, for mapping tests that never miss (the DynamoDB store, its misses and its
    alarm lookup are exercised with `stored` below and in test_dynamodb_stores)."""

    def __init__(self, *configs: ModelConfig) -> None:
        super().__init__("in-memory")
        self.configs = {c.name: c for c in configs}

    def get(self, name: str) -> ModelConfig:
        return self.configs[name]

    def list(self, fresh: bool = False) -> list[ModelConfig]:
        return list(self.configs.values())


@pytest.fixture
def models() -> ModelStore:
    return MemoryModels(model_config("churn"))


@pytest.fixture
def stored(deps: Dependencies) -> ModelStore:
    """The real store on the template's ModelsTable (moto) with churn onboarded."""
    deps.models.put(model_config("churn"))
    return deps.models


# -- requests_for: data ------------------------------------------------------------------------------------


def test_an_s3_drop_asks_for_a_data_run_on_exactly_that_object(models: ModelStore) -> None:
    requests = requests_for(s3_event(), models, BUCKET, STAGE)

    assert isinstance(requests, list) and len(requests) == 1
    request = requests[0]
    assert (request.model, request.trigger) == ("churn", TriggerKind.DATA)
    assert request.dataset == DatasetRef(
        bucket=BUCKET,
        key="datasets/churn/2026-11-22/train.csv",
        version_id="Kq3dW8rT1vXy0pLm5NsB7aZcE2uH4fJg",
        etag="265b88c947e0a515529b37c31288da06",
        size=48177,
    )


def test_a_redelivered_s3_event_maps_to_the_same_run(models: ModelStore) -> None:
    event = sample("s3/object_created.json")
    event["detail"]["bucket"]["name"] = BUCKET
    again = {**event, "id": "another-envelope-id", "time": "2026-11-22T09:20:00Z"}

    first = requests_for(parse_trigger_body(json.dumps(event)), models, BUCKET, STAGE)
    second = requests_for(parse_trigger_body(json.dumps(again)), models, BUCKET, STAGE)

    assert isinstance(first, list) and isinstance(second, list)
    assert first[0].run_id == second[0].run_id


def test_a_new_version_of_the_same_key_maps_to_a_new_run(models: ModelStore) -> None:
    first = requests_for(s3_event(**{"version-id": "v1"}), models, BUCKET, STAGE)
    second = requests_for(s3_event(**{"version-id": "v2"}), models, BUCKET, STAGE)

    assert isinstance(first, list) and isinstance(second, list)
    assert first[0].run_id != second[0].run_id


def test_without_a_version_id_the_sequencer_identifies_the_write(models: ModelStore) -> None:
    a = requests_for(s3_event(**{"version-id": None, "sequencer": "00A"}), models, BUCKET, STAGE)
    b = requests_for(s3_event(**{"version-id": None, "sequencer": "00B"}), models, BUCKET, STAGE)
    a_again = requests_for(s3_event(**{"version-id": None, "sequencer": "00A"}), models, BUCKET, STAGE)

    assert isinstance(a, list) and isinstance(b, list) and isinstance(a_again, list)
    assert a[0].run_id == a_again[0].run_id != b[0].run_id


def test_an_object_in_another_bucket_is_rejected(models: ModelStore) -> None:
    with pytest.raises(
        BadEventError, match="object created in bucket 'someone-else', not Seam's data bucket"
    ):
        requests_for(s3_event(bucket="someone-else"), models, BUCKET, STAGE)


def test_an_object_outside_datasets_is_rejected(models: ModelStore) -> None:
    with pytest.raises(BadEventError, match="is not under datasets/<model>/"):
        requests_for(s3_event(key="models/churn/model.tar.gz"), models, BUCKET, STAGE)


def test_a_drop_maps_to_its_model_without_reading_it(stored: ModelStore) -> None:
    # Whether the model is onboarded is read once per batch by start_batch (see the tests below).
    [asked] = requests_for(s3_event(key="datasets/fraud/x.csv"), stored, BUCKET, STAGE)  # type: ignore[misc]
    assert asked.model == "fraud"


# -- requests_for: drift -----------------------------------------------------------------------------------


def test_an_alarm_returning_to_ok_is_ignored_with_the_reason(models: ModelStore) -> None:
    result = requests_for(alarm_event(state="OK"), models, BUCKET, STAGE)

    assert result == Ignored("alarm 'churn-feature-drift' moved to OK, not ALARM")


def test_an_alarm_mapped_to_two_models_asks_for_two_drift_runs(deps: Dependencies) -> None:
    deps.models.put(model_config("churn", drift_alarms=["shared-drift"]))
    deps.models.put(model_config("fraud", drift_alarms=["shared-drift", "fraud-drift"]))
    deps.models.put(model_config("upsell", drift_alarms=["upsell-drift"]))

    requests = requests_for(alarm_event("shared-drift"), deps.models, BUCKET, STAGE)

    assert isinstance(requests, list)
    assert sorted(r.model for r in requests) == ["churn", "fraud"]
    assert {r.trigger for r in requests} == {TriggerKind.DRIFT}
    assert all(r.detail == {"alarm": "shared-drift"} for r in requests)
    assert len({r.run_id for r in requests}) == 2


def test_an_alarm_mapped_to_no_model_is_model_not_found(stored: ModelStore) -> None:
    with pytest.raises(
        ModelNotFoundError, match="alarm 'unrelated' is not a drift alarm of any onboarded model"
    ):
        requests_for(alarm_event("unrelated"), stored, BUCKET, STAGE)


def test_one_alarm_transition_is_one_run_and_the_next_transition_another(models: ModelStore) -> None:
    runs = [
        requests_for(alarm_event(at=at), models, BUCKET, STAGE)
        for at in ("2026-11-22T08:05:40.988+0000", "2026-11-22T08:05:40.988+0000", "2026-11-22T12:00:00+0000")
    ]

    ids = [r[0].run_id for r in runs if isinstance(r, list)]
    assert ids[0] == ids[1] != ids[2]


# -- requests_for: schedule --------------------------------------------------------------------------------


def test_a_tick_asks_only_for_models_whose_cadence_is_due(deps: Dependencies) -> None:
    for name, cadence in [("every15", 15), ("hourly", 60), ("twohourly", 120), ("never", None)]:
        deps.models.put(model_config(name, retrain_every_minutes=cadence))

    def due_at(at: str) -> list[str]:
        result = requests_for(tick(at), deps.models, BUCKET, STAGE)
        return sorted(r.model for r in result) if isinstance(result, list) else []

    assert due_at("2026-11-22T10:00:00Z") == ["every15", "hourly", "twohourly"]
    assert due_at("2026-11-22T11:00:00Z") == ["every15", "hourly"]
    assert due_at("2026-11-22T11:15:00Z") == ["every15"]
    assert due_at("2026-11-22T11:14:59Z") == ["every15", "hourly"]  # a late tick stays in its slot


def test_a_tick_with_no_model_due_is_ignored(deps: Dependencies) -> None:
    deps.models.put(model_config("hourly", retrain_every_minutes=60))

    result = requests_for(tick("2026-11-22T11:30:00Z"), deps.models, BUCKET, STAGE)

    assert result == Ignored("no model's cadence is due at 2026-11-22T11:30:00+00:00")


def test_a_redelivered_or_late_tick_maps_to_the_same_scheduled_run(models: ModelStore) -> None:
    on_time = requests_for(tick("2026-11-22T10:00:00Z", "a"), models, BUCKET, STAGE)
    redelivered = requests_for(tick("2026-11-22T10:00:00Z", "b"), models, BUCKET, STAGE)
    late = requests_for(tick("2026-11-22T10:14:00Z", "c"), models, BUCKET, STAGE)
    next_slot = requests_for(tick("2026-11-22T11:00:00Z", "d"), models, BUCKET, STAGE)

    ids = [r[0].run_id for r in (on_time, redelivered, late, next_slot) if isinstance(r, list)]
    assert ids[0] == ids[1] == ids[2] != ids[3]


# -- requests_for: manual and others ------------------------------------------------------------------------


def test_a_manual_request_asks_for_a_manual_run_with_who_and_why(models: ModelStore) -> None:
    requests = requests_for(manual(request_id="req-7"), models, BUCKET, STAGE)

    assert isinstance(requests, list) and len(requests) == 1
    assert requests[0].trigger == TriggerKind.MANUAL
    assert requests[0].intent == "manual|req-7"
    assert requests[0].detail == {"requested_by": "alice", "reason": "new features"}
    assert requests[0].dataset is None


def test_a_manual_request_for_an_unknown_model_is_model_not_found(stored: ModelStore) -> None:
    with pytest.raises(ModelNotFoundError, match="'fraud'"):
        requests_for(manual("fraud"), stored, BUCKET, STAGE)


def test_an_event_of_another_kind_is_rejected(models: ModelStore) -> None:
    training = parse_training_body((EVENTS / "sagemaker" / "training_completed.json").read_text())
    with pytest.raises(BadEventError, match="unsupported event type TrainingStateChangeEvent"):
        requests_for(training, models, BUCKET, STAGE)  # type: ignore[arg-type]


# -- is_due ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "at", "due"),
    [
        (None, "2026-11-22T00:00:00", False),
        (15, "2026-11-22T00:00:00", True),
        (15, "2026-11-22T09:37:00", True),
        (60, "2026-11-22T09:00:00", True),
        (60, "2026-11-22T09:14:59", True),
        (60, "2026-11-22T09:15:00", False),
        (60, "2026-11-22T09:45:00", False),
        (120, "2026-11-22T10:00:00", True),
        (120, "2026-11-22T11:00:00", False),
        (45, "2026-11-22T00:45:00", True),
        (45, "2026-11-22T01:30:00", True),
        (45, "2026-11-22T01:00:00", False),
        (1440, "2026-11-22T00:00:00", True),
        (1440, "2026-11-22T12:00:00", False),
        (10080, "2026-11-19T00:00:00", True),  # weeks since the epoch start on Thursdays
        (10080, "2026-11-22T00:00:00", False),
    ],
)
def test_is_due_on_the_tick_that_starts_a_cadence_slot(cadence: int | None, at: str, due: bool) -> None:
    config = model_config(retrain_every_minutes=cadence)
    assert is_due(config, datetime.fromisoformat(at).replace(tzinfo=UTC)) is due


def test_every_cadence_is_due_exactly_once_per_period_of_ticks() -> None:
    start = datetime(2026, 11, 22, tzinfo=UTC)
    ticks = [start + timedelta(minutes=15 * i) for i in range(4 * 24 * 7)]  # one week
    for cadence in (15, 30, 45, 60, 90, 120, 360, 1440):
        due = sum(is_due(model_config(retrain_every_minutes=cadence), t) for t in ticks)
        assert due == 7 * 24 * 60 // cadence, cadence


# -- run ids -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["dev", "prod", "s" * 10])
@pytest.mark.parametrize("model", ["ab", "a-", "churn", "z" * 40, "a" + "-" * 39])
@pytest.mark.parametrize("trigger", list(TriggerKind))
def test_run_ids_are_valid_training_job_and_execution_names(
    stage: str, model: str, trigger: TriggerKind
) -> None:
    run_id = RunRequest(stage=stage, model=model, trigger=trigger, intent="x|" + "y" * 900).run_id

    assert len(run_id) <= 63
    assert TRAINING_JOB_NAME.match(run_id), run_id
    assert re.fullmatch(r"[a-zA-Z0-9-]+", run_id)
    assert run_id.startswith(f"seam-{stage}-{model[:20]}")  # the model cut only when stage + model are long


def test_run_ids_depend_only_on_stage_model_trigger_and_intent() -> None:
    base = RunRequest(stage="test", model="churn", trigger=TriggerKind.MANUAL, intent="manual|1")
    same = RunRequest(
        stage="test",
        model="churn",
        trigger=TriggerKind.MANUAL,
        intent="manual|1",
        detail={"requested_by": "bob"},
        requested_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    others = [
        RunRequest(stage="test", model="fraud", trigger=TriggerKind.MANUAL, intent="manual|1"),
        RunRequest(stage="test", model="churn", trigger=TriggerKind.DRIFT, intent="manual|1"),
        RunRequest(stage="test", model="churn", trigger=TriggerKind.MANUAL, intent="manual|2"),
        RunRequest(stage="prod", model="churn", trigger=TriggerKind.MANUAL, intent="manual|1"),
    ]

    assert base.run_id == same.run_id == "seam-test-churn-" + base.run_id.rsplit("-", 1)[1]
    assert len({base.run_id, *(o.run_id for o in others)}) == 5


def test_two_stages_map_one_schedule_slot_of_one_model_to_two_run_ids() -> None:
    config = model_config(retrain_every_minutes=60)
    tick = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    dev, prod = (scheduled_request(config, tick, stage) for stage in ("dev", "prod"))

    assert dev.intent == prod.intent  # the same slot
    assert dev.run_id.startswith("seam-dev-churn-") and prod.run_id.startswith("seam-prod-churn-")
    assert dev.run_id.rsplit("-", 1)[1] != prod.run_id.rsplit("-", 1)[1]  # the digest covers the stage too


def test_a_queued_request_of_another_stage_is_refused(models: ModelStore) -> None:
    prods = scheduled_request(
        model_config(retrain_every_minutes=60), datetime(2026, 11, 22, tzinfo=UTC), "prod"
    )
    body = QueuedRequest.body(prods)
    with pytest.raises(BadEventError, match="queued request of stage 'prod', this is stage 'unit'"):
        requests_for(parse_trigger_body(body), models, BUCKET, STAGE)


# -- start_or_coalesce -------------------------------------------------------------------------------------


def request(intent: str, model: str = "churn") -> RunRequest:
    return RunRequest(
        stage=STAGE,
        model=model,
        trigger=TriggerKind.DATA,
        intent=intent,
        dataset=DatasetRef(bucket=BUCKET, key=f"datasets/{model}/{intent}.csv", etag="e"),
    )


def executions(deps: Dependencies) -> dict[str, dict[str, Any]]:
    sfn = deps.workflow.sfn
    listed = sfn.list_executions(stateMachineArn=deps.workflow.state_machine_arn)["executions"]
    return {e["name"]: sfn.describe_execution(executionArn=e["executionArn"]) for e in listed}


@pytest.fixture
def stores(deps: Dependencies, state_machine: str) -> Dependencies:
    assert deps.workflow.state_machine_arn == state_machine
    return deps


def start(deps: Dependencies, req: RunRequest) -> TriggerOutcome:
    return start_or_coalesce(req, deps.locks, deps.runs, deps.workflow)


def test_the_first_request_takes_the_lock_records_the_run_and_starts_its_execution(
    stores: Dependencies,
) -> None:
    first = request("a")

    assert start(stores, first) is TriggerOutcome.STARTED

    run = stores.runs.get(first.run_id)
    assert run is not None
    assert (run.status, run.trigger, run.dataset) == (RunStatus.STARTED, TriggerKind.DATA, first.dataset)
    started = executions(stores)
    assert list(started) == [first.run_id]
    assert started[first.run_id]["status"] == "RUNNING"
    assert json.loads(started[first.run_id]["input"]) == {
        "run_id": first.run_id,
        "model": "churn",
        "trigger": "data",
        "dataset": first.dataset.model_dump(mode="json", exclude_none=True),  # type: ignore[union-attr]
        "data_unchanged": False,
        "force": False,
        "score_champion": False,
        "rolled_back": False,
    }
    lock = stores.locks.get("churn")
    assert lock is not None and lock.holder == first.run_id
    assert lock.holder_request == first


def test_the_same_request_again_starts_no_second_execution_or_run(stores: Dependencies) -> None:
    first = request("a")
    start(stores, first)
    started_at = stores.runs.get(first.run_id).started_at  # type: ignore[union-attr]

    start(stores, first)

    assert list(executions(stores)) == [first.run_id]
    assert [r.run_id for r in stores.runs.list_for_model("churn")] == [first.run_id]
    assert stores.runs.get(first.run_id).started_at == started_at  # type: ignore[union-attr]


def test_the_same_request_again_is_reported_already_started(stores: Dependencies) -> None:
    first = request("a")
    start(stores, first)

    assert start(stores, first) is TriggerOutcome.ALREADY_STARTED


def test_a_duplicate_of_a_run_whose_execution_closed_is_already_started(stores: Dependencies) -> None:
    first = request("a")
    start(stores, first)
    stores.workflow.sfn.stop_execution(executionArn=stores.workflow.execution_arn(first.run_id))

    # The run record is not terminal yet (Finalize has not run): StartExecution says it already exists.
    assert start(stores, first) is TriggerOutcome.ALREADY_STARTED
    assert list(executions(stores)) == [first.run_id]


def test_requests_while_the_lock_is_held_are_coalesced_keeping_only_the_newest(stores: Dependencies) -> None:
    first, second, third = request("a"), request("b"), request("c")
    start(stores, first)

    assert start(stores, second) is TriggerOutcome.COALESCED
    assert start(stores, third) is TriggerOutcome.COALESCED

    lock = stores.locks.get("churn")
    assert lock is not None
    assert lock.holder == first.run_id
    assert lock.pending_run_id == third.run_id
    assert lock.pending == third
    assert list(executions(stores)) == [first.run_id]
    assert stores.runs.get(third.run_id) is None  # waiting: it has no run yet
    replaced = stores.runs.get(second.run_id)  # recorded in the write that replaced it
    assert replaced is not None
    assert (replaced.status, replaced.superseded_by, replaced.dataset) == (
        RunStatus.SUPERSEDED,
        third.run_id,
        second.dataset,
    )


def test_another_models_request_is_not_coalesced_with_this_ones(stores: Dependencies) -> None:
    start(stores, request("a", "churn"))

    assert start(stores, request("a", "fraud")) is TriggerOutcome.STARTED
    assert len(executions(stores)) == 2


def test_a_request_for_a_run_that_ended_is_already_done_and_touches_nothing(stores: Dependencies) -> None:
    first = request("a")
    start(stores, first)
    stores.runs.update(first.run_id, status=RunStatus.DEPLOYED)
    stores.locks.release("churn", first.run_id)

    assert start(stores, first) is TriggerOutcome.ALREADY_DONE
    assert stores.locks.get("churn") is None  # the ended run did not take the lock again
    assert list(executions(stores)) == [first.run_id]


def test_a_run_whose_lock_was_taken_but_never_started_is_started_on_retry(stores: Dependencies) -> None:
    first = request("a")
    stores.locks.acquire(first)  # a crash between the lock and StartExecution

    assert start(stores, first) is TriggerOutcome.STARTED
    assert list(executions(stores)) == [first.run_id]


# -- start_batch: the trigger's batch step -----------------------------------------------------------------


def batch(deps: Dependencies, *reqs: RunRequest) -> dict[str, Any]:
    return start_batch(list(reqs), deps.models, deps.locks, deps.runs, deps.workflow)


@pytest.fixture
def onboarded(stores: Dependencies) -> Dependencies:
    for name in ("churn", "fraud"):
        stores.models.put(model_config(name=name))
    return stores


def test_a_batch_leaves_the_state_one_by_one_processing_would(onboarded: Dependencies) -> None:
    a, b, c, d = request("a"), request("b"), request("c"), request("a", "fraud")

    outcomes = batch(onboarded, a, b, c, d)

    assert outcomes == {
        a.run_id: TriggerOutcome.STARTED,  # the oldest takes the free lock
        b.run_id: TriggerOutcome.SUPERSEDED,  # would have been pending, then replaced by c
        c.run_id: TriggerOutcome.COALESCED,  # the newest is the pending retrain
        d.run_id: TriggerOutcome.STARTED,
    }
    lock = onboarded.locks.get("churn")
    assert lock is not None and (lock.holder, lock.pending_run_id) == (a.run_id, c.run_id)
    assert sorted(executions(onboarded)) == sorted([a.run_id, d.run_id])


def test_a_model_started_in_the_batch_and_a_held_one_get_their_pending_in_one_transaction(
    onboarded: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = request("held", "fraud")
    start(onboarded, held)
    a, b, late = request("a"), request("b"), request("late", "fraud")
    cancelled: list[list[str]] = []
    real_coalesce = onboarded.locks.coalesce_all

    def coalesce_all(requests: Any) -> Any:
        retry = real_coalesce(requests)
        cancelled.append([r.run_id for r in retry])
        return retry

    monkeypatch.setattr(onboarded.locks, "coalesce_all", coalesce_all)

    outcomes = batch(onboarded, a, b, late)

    assert outcomes == {
        a.run_id: TriggerOutcome.STARTED,
        b.run_id: TriggerOutcome.COALESCED,
        late.run_id: TriggerOutcome.COALESCED,
    }
    # churn's lock is taken by `a` before the transaction checks for a holder: nothing is cancelled
    # and retried one by one.
    assert cancelled == [[]]
    churn, fraud = onboarded.locks.get("churn"), onboarded.locks.get("fraud")
    assert churn is not None and (churn.holder, churn.pending_run_id) == (a.run_id, b.run_id)
    assert fraud is not None and (fraud.holder, fraud.pending_run_id) == (held.run_id, late.run_id)


def test_a_batch_for_a_held_model_writes_only_the_newest_pending(onboarded: Dependencies) -> None:
    held = request("held")
    start(onboarded, held)
    b, c = request("b"), request("c")

    assert batch(onboarded, b, c) == {b.run_id: TriggerOutcome.SUPERSEDED, c.run_id: TriggerOutcome.COALESCED}
    lock = onboarded.locks.get("churn")
    assert lock is not None and (lock.holder, lock.pending_run_id) == (held.run_id, c.run_id)


def test_redelivered_requests_start_nothing_and_keep_holder_and_pending(onboarded: Dependencies) -> None:
    a, b = request("a"), request("b")
    batch(onboarded, a, b)
    lock_before = onboarded.locks.get("churn")

    assert batch(onboarded, a, b, a) == {
        a.run_id: TriggerOutcome.ALREADY_STARTED,
        b.run_id: TriggerOutcome.COALESCED,
    }
    lock = onboarded.locks.get("churn")
    assert lock is not None and lock_before is not None
    assert (lock.holder, lock.pending_run_id) == (lock_before.holder, lock_before.pending_run_id)
    assert list(executions(onboarded)) == [a.run_id]


def test_a_request_for_an_ended_run_is_already_done(onboarded: Dependencies) -> None:
    a = request("a")
    start(onboarded, a)
    onboarded.runs.update(a.run_id, status=RunStatus.REJECTED)
    onboarded.locks.release("churn", a.run_id)

    assert batch(onboarded, a) == {a.run_id: TriggerOutcome.ALREADY_DONE}
    assert onboarded.locks.get("churn") is None


def test_a_request_for_a_model_not_onboarded_is_model_not_found_and_the_rest_proceed(
    onboarded: Dependencies,
) -> None:
    unknown, known = request("a", "ghost"), request("a")

    outcomes = batch(onboarded, unknown, known)

    assert isinstance(outcomes[unknown.run_id], ModelNotFoundError)
    assert "model 'ghost' is not onboarded" in str(outcomes[unknown.run_id])
    assert outcomes[known.run_id] is TriggerOutcome.STARTED


def test_a_lock_released_between_the_read_and_the_write_falls_back_to_one_by_one(
    onboarded: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = request("held")
    start(onboarded, held)
    late = request("late")
    real_coalesce = onboarded.locks.coalesce_all

    def release_first(requests: Any) -> Any:
        onboarded.locks.release("churn", held.run_id)  # Finalize wins the race
        return real_coalesce(requests)

    monkeypatch.setattr(onboarded.locks, "coalesce_all", release_first)

    assert batch(onboarded, late) == {late.run_id: TriggerOutcome.STARTED}
    lock = onboarded.locks.get("churn")
    assert lock is not None and lock.holder == late.run_id and lock.pending_run_id is None


def test_a_failing_request_is_reported_and_the_others_still_start(
    onboarded: Dependencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seam.errors import TransientError

    ok, broken = request("a"), request("a", "fraud")
    real_start = onboarded.workflow.start

    def start_execution(run_id: str, document: dict[str, Any]) -> bool:
        if run_id == broken.run_id:
            raise TransientError("StartExecution throttled")
        return real_start(run_id, document)

    monkeypatch.setattr(onboarded.workflow, "start", start_execution)

    outcomes = batch(onboarded, ok, broken)

    assert outcomes[ok.run_id] is TriggerOutcome.STARTED
    assert isinstance(outcomes[broken.run_id], TransientError)


def test_a_queued_request_is_the_scheduled_run_it_carries_and_nothing_else(models: ModelStore) -> None:
    from seam.models.events import QueuedRequest

    scheduled = RunRequest(stage=STAGE, model="churn", trigger=TriggerKind.SCHEDULE, intent="schedule|42")
    assert requests_for(parse_trigger_body(QueuedRequest.body(scheduled)), models, BUCKET, STAGE) == [
        scheduled
    ]

    forged = json.loads(QueuedRequest.body(scheduled))
    forged["detail"]["trigger"] = "data"  # only the trigger queues requests for itself: schedules only
    with pytest.raises(BadEventError, match="only scheduled retrains are queued"):
        parse_trigger_body(json.dumps(forged))
