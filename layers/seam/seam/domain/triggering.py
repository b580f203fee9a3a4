"""From an event to run requests: which model, which intent (seam.domain.starting starts them);
`route` and `start_routed` are the trigger function's two steps.

Invariants (tests/workflow prove them):
- the same intent maps to the same run id, so a redelivered event starts nothing new;
- an event that maps to no model starts nothing and says why.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple, cast

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from seam.adapters.dynamodb.locks import LockStore
from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.workflow import Workflow
from seam.domain.starting import BatchOutcome, start_batch
from seam.errors import BadEventError, ConfigRefusedError, ModelNotFoundError
from seam.models.events import model_from_dataset_key
from seam.models.run import DatasetRef, TriggerKind
from seam.models.run_request import RunRequest
from seam.settings import Settings

if TYPE_CHECKING:  # configs are parsed by ModelStore, which loads their classes at the first read
    from seam.dependencies import Dependencies
    from seam.models.events import TriggerEvent
    from seam.models.events.alarm import AlarmStateChangeEvent
    from seam.models.events.manual import ManualRequest
    from seam.models.events.model_package import ModelPackageStateChangeEvent
    from seam.models.events.run_requests import OperatorRequest, QueuedRequest
    from seam.models.events.schedule import ScheduleTick
    from seam.models.model_config import ModelConfig


class Ignored(NamedTuple):
    """An event that is valid but asks for no run (e.g. an alarm returning to OK)."""

    reason: str


class Fanout(list[RunRequest]):
    """The retrains a schedule tick asks for: queued one message per model, each delayed to spread them
    over a window, so a tick never starts every model in one invocation or one second. Each comes back
    as a QueuedRequest and starts like any other request."""


def requests_for(
    event: TriggerEvent, models: ModelStore, data_bucket: str, stage: str
) -> list[RunRequest] | Ignored:
    """Map a parsed trigger event to the run requests it asks for: to start now, or (a Fanout) to queue.
    Every request carries this stack's `stage`, so its run id does too."""
    # By the event's source, as it was parsed (seam.models.events): a source's models are loaded by
    # its first body, so a data drop never loads the others'.
    source = event.source
    if source == "aws.s3":
        return [_data_request(cast(S3EventNotificationEventBridgeModel, event), models, data_bucket, stage)]
    if source == "aws.cloudwatch":
        return _drift_requests(cast("AlarmStateChangeEvent", event), models, stage)
    if source == "seam.schedule":
        return _scheduled_requests(cast("ScheduleTick", event), models, stage)
    if source in ("seam.trigger", "seam.operator"):
        # A queued retrain, or a rollback's or retry's request (start_batch reads whether its model is
        # onboarded): queued by another stage's trigger or CLI, it is that stage's run, not ours.
        request = cast("QueuedRequest | OperatorRequest", event).detail
        if request.stage != stage:
            kind = "queued" if source == "seam.trigger" else "operator"
            raise BadEventError(f"{kind} request of stage {request.stage!r}, this is stage {stage!r}")
        return [request]
    if source == "seam.manual":
        return [_manual_request(cast("ManualRequest", event), models, data_bucket, stage)]
    raise BadEventError(f"unsupported event type {type(event).__name__}")


def _manual_request(event: ManualRequest, models: ModelStore, bucket: str, stage: str) -> RunRequest:
    """`seam trigger MODEL [--dataset KEY] [--force]`: the newest dataset under the model's prefix, or
    the key named (Validate pins its object version); forced, it trains on data the champion saw."""
    detail = event.detail
    config = models.get(detail.model)  # raises ModelNotFoundError with the name
    dataset = None
    if detail.dataset_key is not None:
        if not detail.dataset_key.startswith(config.dataset_prefix):
            raise BadEventError(f"dataset {detail.dataset_key!r} is not under {config.dataset_prefix}")
        model_from_dataset_key(detail.dataset_key)  # a key Seam accepts from S3 too
        dataset = DatasetRef(bucket=bucket, key=detail.dataset_key)
    return RunRequest(
        stage=stage,
        model=detail.model,
        trigger=TriggerKind.MANUAL,
        intent=f"manual|{event.id}",
        dataset=dataset,
        detail={"requested_by": detail.requested_by, "reason": detail.reason},
        requested_at=event.time,
        force=detail.force,
    )


def _data_request(
    event: S3EventNotificationEventBridgeModel, models: ModelStore, bucket: str, stage: str
) -> RunRequest:
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
    return RunRequest(
        stage=stage,
        model=model,
        trigger=TriggerKind.DATA,
        intent=f"data|{key}|{identity}",
        dataset=dataset,
        requested_at=event.time,
        sequencer=detail.object.sequencer,
    )


def _drift_requests(
    event: AlarmStateChangeEvent, models: ModelStore, stage: str
) -> list[RunRequest] | Ignored:
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
            stage=stage,
            model=m.name,
            trigger=TriggerKind.DRIFT,
            intent=f"drift|{alarm}|{stamp}",
            detail={"alarm": alarm},
            requested_at=event.detail.state.timestamp,
        )
        for m in matched
    ]


def _scheduled_requests(event: ScheduleTick, models: ModelStore, stage: str) -> Fanout | Ignored:
    due = [m for m in models.list() if is_due(m, event.time)]
    if not due:
        return Ignored(f"no model's cadence is due at {event.time.isoformat()}")
    return Fanout(scheduled_request(m, event.time, stage) for m in due)


def scheduled_request(config: ModelConfig, tick: datetime, stage: str) -> RunRequest:
    """The retrain a tick asks of a model whose cadence is due: one per cadence slot. The cadence is
    part of the intent, so after a cadence change a slot number of the old cadence is not taken for
    one of the new (it would end as ALREADY_DONE and skip the tick)."""
    assert config.retrain_every_minutes
    slot_seconds = config.retrain_every_minutes * 60
    slot = int(tick.timestamp() // slot_seconds)
    return RunRequest(
        stage=stage,
        model=config.name,
        trigger=TriggerKind.SCHEDULE,
        intent=f"schedule|{config.retrain_every_minutes}m|{slot}",
        requested_at=datetime.fromtimestamp(slot * slot_seconds, UTC),
    )


def spread_delay(request: RunRequest, window_seconds: int) -> int:
    """Seconds to delay a scheduled retrain on the queue: a stable offset per model within the window.

    Stable per model, not per run: the offset is the same in every slot, so consecutive retrains of a
    model start exactly one cadence apart and land inside the previous job's warm-pool keep-alive
    (a per-run offset moved each start anywhere in the window, and 28 % of 15-minute retrains missed
    their pool). Still deterministic, so a redelivered tick queues each model with the same delay;
    still uniform over the window by the name's hash, so 1,000 models due on one tick start over
    minutes, not in one second (`make bench` prints the peak launches per 10 s)."""
    digest = hashlib.sha256(request.model.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (window_seconds + 1)


def is_due(config: ModelConfig, at: datetime) -> bool:
    """A cadence of N minutes is due on the tick that starts a new N-minute slot since the epoch
    (ticks come every 15 minutes; a tick up to 14 minutes late still lands in its slot)."""
    if not config.retrain_every_minutes:
        return False
    return int(at.timestamp() // 60) % config.retrain_every_minutes < 15


class Queued(NamedTuple):
    """A schedule tick's retrains, queued back one message per model (a Fanout)."""

    models: int
    spread_seconds: int


Routed = list[RunRequest] | Queued | Ignored | ModelNotFoundError


class NotStarted(NamedTuple):
    """How the trigger reports a request that can never start as it is (not redelivered)."""

    message: str  # the log line's message (the reason goes with it)
    metric: str  # counted


NOT_STARTED: dict[type[Exception], NotStarted] = {  # by the outcome's type
    ModelNotFoundError: NotStarted("event maps to no model; nothing started", "EventsUnmapped"),
    ConfigRefusedError: NotStarted(
        "model config would fail the run; nothing started (run FAILED)", "ConfigRefused"
    ),
}
# What the trigger reports for a record it starts nothing for, or for one request it started.
Outcome = Queued | Ignored | BatchOutcome


def route(event: TriggerEvent, deps: Dependencies) -> Routed:
    """What one trigger event comes to: run requests to start, a schedule tick's retrains queued back
    (each delayed by `spread_delay` within the settings' spread), or why nothing starts (the model
    error when it maps to no onboarded model). A registry change (PackageChanges, reading the versions,
    locks and runs): an approval asks for a deploy run, a rejection is recorded on the run.

    It takes the dependencies and uses the adapters of the event's kind: only a registry change loads
    the deploy runs' code and the versions store, only a tick the trigger's queue."""
    settings = deps.settings
    try:
        if event.source == "aws.sagemaker":  # a model package state change
            from seam.domain.deploy_runs import PackageChanges

            stores = (deps.versions, deps.locks, deps.runs)
            packages = PackageChanges(*stores, settings.model_package_group_prefix, settings.stage)
            deploys = packages.requests_for(cast("ModelPackageStateChangeEvent", event))
            return Ignored(deploys) if isinstance(deploys, str) else deploys
        mapped = requests_for(event, deps.models, settings.data_bucket, settings.stage)
    except ModelNotFoundError as exc:
        return exc
    if isinstance(mapped, Fanout):
        from seam.models.events.run_requests import QueuedRequest  # loaded by the first tick

        spread_seconds = settings.schedule_spread_seconds
        deps.trigger_queue.send([(QueuedRequest.body(r), spread_delay(r, spread_seconds)) for r in mapped])
        return Queued(len(mapped), spread_seconds)
    return mapped


def start_routed(
    requests: dict[str, list[RunRequest]],
    models: ModelStore,
    locks: LockStore,
    runs: RunStore,
    workflow: Workflow,
    settings: Settings,
) -> list[tuple[str, RunRequest, BatchOutcome]]:
    """Start or coalesce the requests of many records together (`start_batch`: one read, one write for
    the common cases; each retrain's stored config checked first): each request with its record's key
    and its outcome."""
    flat = [(key, request) for key, mapped in requests.items() for request in mapped]
    batch = [request for _, request in flat]
    outcomes = start_batch(batch, models, locks, runs, workflow, settings) if flat else {}
    return [(key, request, outcomes[request.run_id]) for key, request in flat]
