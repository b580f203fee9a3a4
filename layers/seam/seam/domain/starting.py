"""From run requests to runs: take the model's lock and start, or coalesce into its pending retrain.

Apart from trigger events (seam.domain.triggering) so that Finalize and the reconciler, which start a
model's pending run, do not load the event models at cold start.

Invariants (tests/workflow prove them):
- per model at most one run holds the lock and at most one request of each kind waits (a retrain, a
  deploy run: `RunRequest.lock_slot`): the newest of its kind by the events' own order
  (`RunRequest.order`), whatever order they arrive in; a deploy request and a retrain never supersede
  each other;
- every step is idempotent, so a redelivered request starts nothing new.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from seam.adapters.dynamodb.batch import read_batch
from seam.adapters.dynamodb.locks import LockOutcome, LockStore, Wait
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.workflow import Workflow
from seam.errors import ConfigRefusedError, ModelNotFoundError
from seam.models.run_opening import RunOpening
from seam.models.run_request import RunRequest, run_id_of_order

if TYPE_CHECKING:  # only the trigger's batches read configs (it loads them): not Finalize, the reconciler
    from seam.adapters.dynamodb.models import ModelStore
    from seam.settings import Settings


class TriggerOutcome(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"  # duplicate of a run that is running
    ALREADY_DONE = "already_done"  # duplicate of a run that has ended
    COALESCED = "coalesced"  # another run holds the model: kept as its one pending request of its kind
    SUPERSEDED = "superseded"  # a newer request of its kind for the model holds, held or waits for its lock


BatchOutcome = TriggerOutcome | Exception
# A free lock goes to a deploy request first, as at a hand-over (LockStore.release).
_HAND_OVER_RANK = {"deploy": 0, "retrain": 1}


def start_batch(
    requests: list[RunRequest],
    models: ModelStore,
    locks: LockStore,
    runs: RunStore,
    workflow: Workflow,
    settings: Settings | None = None,
) -> dict[str, BatchOutcome]:
    """Start or coalesce a batch of requests with one read and one write for the common cases.

    One BatchGetItem reads every model, run and lock the batch names. Then, per request: a run that
    already ended -> ALREADY_DONE; already the model's pending request -> COALESCED, nothing written;
    older than what holds or waits for the lock (of its kind) -> SUPERSEDED (recorded so); a run
    that exists or holds the lock (a redelivery) -> `start_or_coalesce`, whose steps are idempotent.
    Of the new requests for a model and kind, in the events' order, the oldest takes a free lock and
    starts (a deploy request before a retrain, as at a hand-over); the newest of the rest becomes the
    pending request of its kind in place of the one the read found there; those in between, and the
    replaced one, are recorded SUPERSEDED: all in one TransactWriteItems (`LockStore.coalesce_all`).
    The end state is the one processing them one by one would leave, in far fewer calls;
    every write is conditional on the order, so a lock that changed since the read is never
    overwritten by an older request. Outcomes are keyed by run id; an exception is that request's
    failure.

    With `settings` (the trigger's), a new retrain of a model whose stored config would fail the run
    after training (`refused_by_config`) starts nothing and waits for nothing: it is recorded FAILED
    with the problems, and its outcome is the ConfigRefusedError naming them.
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
        view = read_batch(models, runs, locks, {r.model for r in unique}, [r.run_id for r in unique])
    except Exception:
        # The shared read failed: one by one, so one request's failure (a throttled key, a bug on
        # one record) fails only its own record and the rest of the batch still goes through.
        outcomes = {r.run_id: one_by_one(r, model_known=False) for r in unique}
        return {r.run_id: outcomes[r.run_id] for r in requests}

    outcomes: dict[str, BatchOutcome] = {}
    new_by_model: dict[tuple[str, str], list[RunRequest]] = {}
    singles: list[RunRequest] = []
    waits: dict[tuple[str, str], Wait] = {}  # per model and kind: what the batch writes in one go

    def wait_of(request: RunRequest) -> Wait:
        return waits.setdefault((request.model, request.lock_slot), Wait(request.model))

    for request in unique:
        lock = view.locks.get(request.model)
        status = view.run_status.get(request.run_id)
        if request.model not in view.onboarded:
            outcomes[request.run_id] = ModelNotFoundError(f"model {request.model!r} is not onboarded")
        elif status is not None and status.terminal:
            outcomes[request.run_id] = TriggerOutcome.ALREADY_DONE
        elif (
            lock is not None
            and (waiting := lock.waiting(request.lock_slot))
            and waiting.run_id == request.run_id
        ):
            outcomes[request.run_id] = TriggerOutcome.COALESCED
        elif status is not None or (lock is not None and lock.holder == request.run_id):
            singles.append(request)  # a redelivery: start_or_coalesce finishes what was begun
        elif lock is not None and lock.supersedes(request):
            outcomes[request.run_id] = TriggerOutcome.SUPERSEDED
            newest = run_id_of_order(lock.newest_order(request.lock_slot))
            wait_of(request).superseded.append((request, newest))
        else:
            new_by_model.setdefault((request.model, request.lock_slot), []).append(request)

    if settings is not None:
        retrains = [r for (_, kind), rs in new_by_model.items() if kind == "retrain" for r in rs]
        for request, refusal in refused_by_config(retrains, view.configs, settings):
            outcomes[request.run_id] = record_refusal(request, refusal, runs)
            new_by_model[(request.model, "retrain")].remove(request)
        new_by_model = {key: arrived for key, arrived in new_by_model.items() if arrived}
    taken: set[str] = set()  # models whose free lock a request of this batch takes
    for (model, kind), arrived in sorted(new_by_model.items(), key=lambda kv: _HAND_OVER_RANK[kv[0][1]]):
        new = sorted(arrived, key=lambda r: r.order)
        lock = view.locks.get(model)
        if lock is None and model not in taken:
            singles.append(new.pop(0))  # the oldest takes the free lock (a deploy's first, if any)
            taken.add(model)
        if new:
            *older, newest = new
            wait = wait_of(newest)
            wait.request, wait.replaced = newest, lock.waiting(kind) if lock is not None else None
            wait.superseded += [(r, newest.run_id) for r in older]
            outcomes.update({r.run_id: TriggerOutcome.SUPERSEDED for r in older})
    # The starts first, then the pending requests: a model whose lock this batch takes has a holder
    # by the time the transaction checks for one (the other way round, one such model cancelled the
    # whole transaction and sent every pending request of the batch one by one).
    outcomes.update({r.run_id: one_by_one(r) for r in singles})
    try:
        cancelled = locks.coalesce_all(waits.values())  # a lock changed since the read
    except Exception:
        cancelled = list(waits.values())  # the transaction failed: one by one, isolated
    outcomes.update({w.request.run_id: TriggerOutcome.COALESCED for w in waits.values() if w.request})
    for wait in cancelled:  # in the events' order, as one by one processing would meet them
        outcomes.update({r.run_id: one_by_one(r) for r in sorted(wait.requests, key=lambda r: r.order)})
    # A request that waited until a newer one of its model and kind took its place (a single that
    # found the lock taken meanwhile, or one handled one by one): report what it is now.
    newest_waiting: dict[tuple[str, str], str] = {}
    for r in unique:
        if outcomes.get(r.run_id) is TriggerOutcome.COALESCED:
            key = (r.model, r.lock_slot)
            newest_waiting[key] = max(newest_waiting.get(key, ""), r.order)
    for r in unique:
        if (
            outcomes.get(r.run_id) is TriggerOutcome.COALESCED
            and r.order < newest_waiting[(r.model, r.lock_slot)]
        ):
            outcomes[r.run_id] = TriggerOutcome.SUPERSEDED
    return {r.run_id: outcomes[r.run_id] for r in requests}


def refused_by_config(
    requests: list[RunRequest], configs: dict[str, dict[str, Any]], settings: Settings
) -> list[tuple[RunRequest, ConfigRefusedError]]:
    """The requests whose model's stored config would fail the run after training, each with the error
    naming the problems (seam.domain.onboarding: the same checks as `seam models put`, but the cluster
    call). Each model is checked once per batch; a config `seam models put` saved after checking it
    against this stack's allowed clusters carries that check's digest and is not checked again."""
    from seam.adapters.dynamodb.models import checked_digest

    allowed = settings.allowed_clusters
    unchecked = {
        m: configs[m]
        for m in {r.model for r in requests}
        if configs[m].get("checked") != checked_digest(configs[m].get("config") or {}, allowed)
    }
    if not unchecked:
        return []
    # Loaded only for a config written some other way: the check parses it, which builds the model
    # config's classes (tens of ms at a cold start; the trigger reads no config for a data drop else).
    from seam.domain.onboarding import stored_config_problems

    problems = {m: stored_config_problems(record, settings) for m, record in unchecked.items()}
    refusals = {
        m: ConfigRefusedError(f"model {m}'s config would fail the run after training: " + "; ".join(p))
        for m, p in problems.items()
        if p
    }
    return [(r, refusals[r.model]) for r in requests if r.model in refusals]


def record_refusal(request: RunRequest, refusal: ConfigRefusedError, runs: RunStore) -> BatchOutcome:
    """The refused request's run, recorded FAILED with the problems (nothing started, no lock taken):
    `seam runs` shows why, and `seam runs retry` starts it again once the config is fixed."""
    run = RunOpening.refused(request, refusal)
    try:
        runs.create(run)  # a redelivery finds it: ALREADY_DONE
    except Exception as exc:  # not recorded: its record is redelivered and checked again
        return exc
    return refusal


def start_or_coalesce(
    request: RunRequest, locks: LockStore, runs: RunStore, workflow: Workflow
) -> TriggerOutcome:
    status = runs.status(request.run_id)
    if status is not None and status.terminal:
        return TriggerOutcome.ALREADY_DONE
    taken = locks.acquire(request)  # conditional on the order: never takes a lock a newer one had
    if taken is LockOutcome.ACQUIRED:
        return start_run(request, runs, workflow)
    return _NOT_STARTED[taken]


_NOT_STARTED = {
    LockOutcome.COALESCED: TriggerOutcome.COALESCED,
    LockOutcome.SUPERSEDED: TriggerOutcome.SUPERSEDED,
    LockOutcome.RELEASED: TriggerOutcome.ALREADY_DONE,  # it held the lock and let go: it has ended
}


def start_run(request: RunRequest, runs: RunStore, workflow: Workflow) -> TriggerOutcome:
    """Record and start a run whose lock is held; every step is idempotent, so retries are safe.

    StartExecution with the name and input of a running execution succeeds, so the run record (created
    once, conditionally) is what tells a duplicate from a first start, without an extra API call."""
    created = runs.create(RunOpening.started(request))
    started = workflow.start(request.run_id, start_document(request))
    return TriggerOutcome.STARTED if created and started else TriggerOutcome.ALREADY_STARTED


def start_document(request: RunRequest) -> dict[str, Any]:
    """The document `request`'s execution starts with (StartExecution's input): exactly what the state
    machine's whole document (WorkflowState) of the request's values dumps, and what the first state
    parses as one (tests/unit/test_start_document.py). Written from the request, which is validated
    and built already, not through WorkflowState, whose 13 sections cost the trigger about 5 ms of its
    cold start at import (a narrower model of its own still cost 1 ms to define and build)."""
    parts = request.model_dump(mode="json", include={"dataset", "deploy"}, exclude_none=True)
    return {
        "run_id": request.run_id,
        "model": request.model,
        "trigger": request.trigger.value,
        **({"dataset": parts["dataset"]} if "dataset" in parts else {}),
        "data_unchanged": False,  # Validate decides (the workflow's DataChanged choice reads it)
        "force": request.force,
        "score_champion": False,  # Validate decides
        "rolled_back": False,
        **({"deploy": parts["deploy"]} if "deploy" in parts else {}),
    }
