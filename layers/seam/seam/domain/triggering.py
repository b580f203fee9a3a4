"""From an event to a run: which model, which intent, and start it or coalesce it.

Invariants (tests/workflow prove them):
- the same intent maps to the same run id, so a redelivered event starts nothing new;
- per model at most one run holds the lock and at most one request waits (the newest);
- an event that maps to no model starts nothing and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from seam.adapters.dynamodb import LockOutcome, LockStore, ModelStore, RunStore, batch_get
from seam.adapters.workflow import Workflow
from seam.errors import BadEventError, ModelNotFoundError
from seam.models.events import (
    AlarmStateChangeEvent,
    ManualRequest,
    QueuedRequest,
    ScheduleTick,
    TriggerEvent,
    model_from_dataset_key,
)
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, Run, RunRequest, RunStatus, TriggerKind, WorkflowState


class TriggerOutcome(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"  # duplicate of a run that is running
    ALREADY_DONE = "already_done"  # duplicate of a run that has ended
    COALESCED = "coalesced"  # another run holds the model: kept as its one pending retrain
    SUPERSEDED = "superseded"  # a newer request for the model in the same batch took the pending slot


@dataclass(frozen=True)
class Ignored:
    """An event that is valid but asks for no run (e.g. an alarm returning to OK)."""

    reason: str


def requests_for(event: TriggerEvent, models: ModelStore, data_bucket: str) -> list[RunRequest] | Ignored:
    """Map a parsed trigger event to the run requests it asks for."""
    if isinstance(event, S3EventNotificationEventBridgeModel):
        return [_data_request(event, models, data_bucket)]
    if isinstance(event, AlarmStateChangeEvent):
        return _drift_requests(event, models)
    if isinstance(event, ScheduleTick):
        return _scheduled_requests(event, models)
    if isinstance(event, QueuedRequest):
        return [event.detail]
    if isinstance(event, ManualRequest):
        models.get(event.detail.model)  # raises ModelNotFoundError with the name
        return [
            RunRequest(
                model=event.detail.model,
                trigger=TriggerKind.MANUAL,
                intent=f"manual|{event.id}",
                detail={"requested_by": event.detail.requested_by, "reason": event.detail.reason},
            )
        ]
    raise BadEventError(f"unsupported event type {type(event).__name__}")


def _data_request(event: S3EventNotificationEventBridgeModel, models: ModelStore, bucket: str) -> RunRequest:
    detail = event.detail
    if detail.bucket.name != bucket:
        raise BadEventError(f"object created in bucket {detail.bucket.name!r}, not Seam's data bucket")
    key = detail.object.key
    model = model_from_dataset_key(key)  # whether it is onboarded: start_batch reads that for the batch
    dataset = DatasetRef(
        bucket=detail.bucket.name,
        key=key,
        version_id=detail.object.version_id,
        etag=detail.object.etag,
        size=int(detail.object.size or 0),
    )
    # The sequencer orders writes of one key: the same drop redelivered maps to the same run.
    identity = detail.object.version_id or detail.object.sequencer or detail.object.etag
    return RunRequest(model=model, trigger=TriggerKind.DATA, intent=f"data|{key}|{identity}", dataset=dataset)


def _drift_requests(event: AlarmStateChangeEvent, models: ModelStore) -> list[RunRequest] | Ignored:
    alarm = event.detail.alarmName
    if event.detail.state.value != "ALARM":
        return Ignored(f"alarm {alarm!r} moved to {event.detail.state.value}, not ALARM")
    matched = models.for_alarm(alarm)
    if not matched:
        raise ModelNotFoundError(f"alarm {alarm!r} is not a drift alarm of any onboarded model")
    # One run per alarm transition: the state timestamp identifies it across redeliveries.
    stamp = event.detail.state.timestamp.isoformat()
    return [
        RunRequest(
            model=m.name, trigger=TriggerKind.DRIFT, intent=f"drift|{alarm}|{stamp}", detail={"alarm": alarm}
        )
        for m in matched
    ]


def _scheduled_requests(event: ScheduleTick, models: ModelStore) -> list[RunRequest] | Ignored:
    due = [m for m in models.list() if is_due(m, event.time)]
    if not due:
        return Ignored(f"no model's cadence is due at {event.time.isoformat()}")
    return [
        RunRequest(model=m.name, trigger=TriggerKind.SCHEDULE, intent=f"schedule|{_slot(m, event.time)}")
        for m in due
    ]


def spread_delay(request: RunRequest, window_seconds: int) -> int:
    """Seconds to delay a scheduled retrain on the queue: spread evenly over the window by the run
    id's hash, so a redelivered tick queues each model with the same delay, and 1,000 models due
    on one tick start over minutes, not in one second."""
    return int(request.run_id.rsplit("-", 1)[-1], 16) % (window_seconds + 1)


def _slot(config: ModelConfig, at: datetime) -> int:
    assert config.retrain_every_minutes
    return int(at.timestamp() // (config.retrain_every_minutes * 60))


def is_due(config: ModelConfig, at: datetime) -> bool:
    """A cadence of N minutes is due on the tick that starts a new N-minute slot since the epoch
    (ticks come every 15 minutes; a tick up to 14 minutes late still lands in its slot)."""
    if not config.retrain_every_minutes:
        return False
    return int(at.timestamp() // 60) % config.retrain_every_minutes < 15


BatchOutcome = TriggerOutcome | Exception


def start_batch(
    requests: list[RunRequest], models: ModelStore, locks: LockStore, runs: RunStore, workflow: Workflow
) -> dict[str, BatchOutcome]:
    """Start or coalesce a batch of requests with one read and one write for the common cases.

    One BatchGetItem reads every model, run and lock the batch names. Then, per request: a run that
    already ended -> ALREADY_DONE; already the model's pending retrain -> COALESCED, nothing written;
    a run that exists or holds the lock (a redelivery) -> `start_or_coalesce`, whose steps are
    idempotent. Of the new requests for a model, the oldest takes a free lock and starts; the newest
    of the rest becomes the pending retrain, all in one TransactWriteItems; those in between are
    SUPERSEDED. The end state is the one processing them one by one would leave (the newest pending
    wins), in far fewer calls. Outcomes are keyed by run id; an exception is that request's failure.
    """
    unique = list({r.run_id: r for r in reversed(requests)}.values())[::-1]  # first of each run id

    def one_by_one(request: RunRequest, model_known: bool = True) -> BatchOutcome:
        try:
            if not model_known:
                models.get(request.model)  # ModelNotFoundError names it
            return start_or_coalesce(request, locks, runs, workflow)
        except Exception as exc:  # reported per request: its record is redelivered, the rest are not
            return exc

    try:
        view = batch_get(
            {
                models.table: [{"model": {"S": m}} for m in {r.model for r in unique}],
                runs.table: [{"run_id": {"S": r.run_id}} for r in unique],
                locks.table: [{"model": {"S": m}} for m in {r.model for r in unique}],
            },
            projections={models.table: "model"},  # existence is all the batch needs of a config
        )
    except Exception:
        # The shared read failed: one by one, so one request's failure (a throttled key, a bug on
        # one record) fails only its own record and the rest of the batch still goes through.
        outcomes = {r.run_id: one_by_one(r, model_known=False) for r in unique}
        return {r.run_id: outcomes[r.run_id] for r in requests}
    onboarded = {item["model"] for item in view[models.table]}
    statuses = {item["run_id"]: item.get("status") for item in view[runs.table]}
    lock_of = {item["model"]: item for item in view[locks.table]}

    outcomes: dict[str, BatchOutcome] = {}
    new_by_model: dict[str, list[RunRequest]] = {}
    singles: list[RunRequest] = []
    for request in unique:
        lock = lock_of.get(request.model, {})
        status = statuses.get(request.run_id)
        if request.model not in onboarded:
            outcomes[request.run_id] = ModelNotFoundError(f"model {request.model!r} is not onboarded")
        elif status is not None and RunStatus(status).terminal:
            outcomes[request.run_id] = TriggerOutcome.ALREADY_DONE
        elif lock.get("pending_run_id") == request.run_id:
            outcomes[request.run_id] = TriggerOutcome.COALESCED
        elif status is not None or lock.get("holder") == request.run_id:
            singles.append(request)  # a redelivery: start_or_coalesce finishes what was begun
        else:
            new_by_model.setdefault(request.model, []).append(request)

    to_coalesce: list[RunRequest] = []
    for model, new in new_by_model.items():
        if not lock_of.get(model, {}).get("holder"):
            singles.append(new.pop(0))  # the oldest takes the free lock
        if new:
            *older, newest = new
            outcomes.update({r.run_id: TriggerOutcome.SUPERSEDED for r in older})
            to_coalesce.append(newest)
    try:
        retry = {r.run_id for r in locks.coalesce_all(to_coalesce)}  # cancelled: a lock changed
    except Exception:
        retry = {r.run_id for r in to_coalesce}  # the transaction failed: one by one, isolated
    singles.extend(r for r in to_coalesce if r.run_id in retry)
    outcomes.update({r.run_id: TriggerOutcome.COALESCED for r in to_coalesce if r.run_id not in retry})
    outcomes.update({r.run_id: one_by_one(r) for r in singles})
    return {r.run_id: outcomes[r.run_id] for r in requests}


def start_or_coalesce(
    request: RunRequest, locks: LockStore, runs: RunStore, workflow: Workflow
) -> TriggerOutcome:
    existing = runs.get(request.run_id)
    if existing and existing.status.terminal:
        return TriggerOutcome.ALREADY_DONE
    if locks.acquire(request) is LockOutcome.COALESCED:
        return TriggerOutcome.COALESCED
    return start_run(request, runs, workflow)


def start_run(request: RunRequest, runs: RunStore, workflow: Workflow) -> TriggerOutcome:
    """Record and start a run whose lock is held; every step is idempotent, so retries are safe.

    StartExecution with the name and input of a running execution succeeds, so the run record (created
    once, conditionally) is what tells a duplicate from a first start, without an extra API call."""
    created = runs.create(
        Run(run_id=request.run_id, model=request.model, trigger=request.trigger, dataset=request.dataset)
    )
    document = WorkflowState(
        run_id=request.run_id, model=request.model, trigger=request.trigger, dataset=request.dataset
    ).dump()
    started = workflow.start(request.run_id, document)
    return TriggerOutcome.STARTED if created and started else TriggerOutcome.ALREADY_STARTED
