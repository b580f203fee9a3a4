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

from seam.adapters.dynamodb import LockOutcome, LockStore, ModelStore, RunStore
from seam.adapters.workflow import Workflow
from seam.errors import BadEventError, ModelNotFoundError
from seam.models.events import (
    AlarmStateChangeEvent,
    ManualRequest,
    ScheduleTick,
    TriggerEvent,
    model_from_dataset_key,
)
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, Run, RunRequest, TriggerKind, WorkflowState


class TriggerOutcome(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"  # duplicate of a run that is running
    ALREADY_DONE = "already_done"  # duplicate of a run that has ended
    COALESCED = "coalesced"  # another run holds the model: kept as its one pending retrain


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
    model = model_from_dataset_key(key)
    models.get(model)
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


def _slot(config: ModelConfig, at: datetime) -> int:
    assert config.retrain_every_minutes
    return int(at.timestamp() // (config.retrain_every_minutes * 60))


def is_due(config: ModelConfig, at: datetime) -> bool:
    """A cadence of N minutes is due on the tick that starts a new N-minute slot since the epoch
    (ticks come every 15 minutes; a tick up to 14 minutes late still lands in its slot)."""
    if not config.retrain_every_minutes:
        return False
    return int(at.timestamp() // 60) % config.retrain_every_minutes < 15


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
