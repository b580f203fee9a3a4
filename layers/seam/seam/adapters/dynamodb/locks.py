"""Per-model locks (LocksTable): one holder per model, and at most one pending request per slot.

A model's requests are of two kinds that never supersede each other (`RunRequest.lock_slot`): a
*retrain* (data drop, schedule, drift, `seam trigger`, a retry of one) and a *deploy* run (an approval,
a rollback, a retry of one). A person's approval must not be dropped because data arrived, nor a data
drop because someone approved a version: each kind has its own pending slot, and each is ordered only
against its own kind (`RunRequest.order`).

The item: `model`; `holder` (the holding run's id), `holder_request` (its request, JSON) and
`acquired_at`; per slot, while a request of that kind waits, its request (JSON), run id and order:
`pending`, `pending_run_id`, `pending_order` (retrain) and `deploy_pending`, `deploy_pending_run_id`,
`deploy_pending_order` (deploy). `holder_order` / `deploy_holder_order` is the order of the newest
request of that kind that took the lock; it stays when the lock is released, so the item outlives its
holder.

"Newest" is the event's own order, not arrival: every write is conditional on the request being
newer than the newest of its kind that held the lock and than its slot's pending request. So an older
request that arrives late (a redelivery, or a slow trigger container) never takes the pending slot
from a newer one and never restarts after a newer run took the lock: it is SUPERSEDED.

When the holder ends and both slots wait, the deploy request takes the lock first (`release`): it is a
person's decision, and a short run (no training); the retrain waits, still pending, and starts when the
deploy run ends, so it is evaluated against the version the person chose to serve.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item, to_item
from seam.adapters.dynamodb.table import Table
from seam.errors import StaleUpdateError
from seam.models.run import utc_now

if TYPE_CHECKING:
    from seam.models.run_request import RunRequest
    from seam.models.sweep import HeldLock

TRANSACT_MAX_ITEMS = 100  # TransactWriteItems' limit per call


class LockOutcome(StrEnum):
    ACQUIRED = "acquired"  # this run holds the model's lock (new, or it already did)
    COALESCED = "coalesced"  # another run holds it; this request waits in its slot (the one pending)
    SUPERSEDED = "superseded"  # a newer request of its kind holds, held or waits for the lock
    RELEASED = "released"  # this very run held the lock and released it: it has ended


class Slot(NamedTuple):
    """Where the requests of one kind wait in the lock's item, and the newest of that kind is kept."""

    kind: str  # RunRequest.lock_slot
    pending: str  # the waiting request (JSON)
    run_id: str  # its run id
    order: str  # its order
    last: str  # the order of the newest request of this kind that took the lock


SLOTS = {
    "retrain": Slot("retrain", "pending", "pending_run_id", "pending_order", "holder_order"),
    "deploy": Slot(
        "deploy", "deploy_pending", "deploy_pending_run_id", "deploy_pending_order", "deploy_holder_order"
    ),
}
HAND_OVER_FIRST = ("deploy", "retrain")  # when both wait: the person's deploy, then the retrain


def parse_request(stored: str) -> RunRequest:
    """A request as the lock keeps it (JSON). Its module is loaded at the first parse: Finalize's usual
    release hands the lock to nobody and so defines no request (bench/cold_start.py)."""
    from seam.models.run_request import RunRequest

    return RunRequest.model_validate_json(stored)


def slot_of(request: RunRequest) -> Slot:
    return SLOTS[request.lock_slot]


class LockRecord(NamedTuple):
    """A model's lock as stored: who holds it, since when, and the requests waiting for it. A
    NamedTuple (seam.adapters.dynamodb.tokens.TokenRecord says why)."""

    model: str
    holder: str  # run id of the run holding the lock
    holder_request: RunRequest  # what the holder was started from (started again if its start was lost)
    since: datetime  # when the holder took the lock (acquired, or handed over)
    pending: RunRequest | None = None  # the model's one pending retrain: the newest request wins
    pending_deploy: RunRequest | None = None  # the model's one pending deploy run: the newest wins
    last_orders: tuple[str, str] = ("", "")  # the newest retrain's, deploy's order that took the lock

    @property
    def pending_run_id(self) -> str | None:
        return self.pending.run_id if self.pending else None

    @property
    def pending_deploy_run_id(self) -> str | None:
        return self.pending_deploy.run_id if self.pending_deploy else None

    def waiting(self, kind: str) -> RunRequest | None:
        """The request waiting in the `kind` slot."""
        return self.pending_deploy if kind == "deploy" else self.pending

    def newest_order(self, kind: str) -> str:
        """The order of the newest request of `kind` that holds, held or waits for the lock."""
        waiting = self.waiting(kind)
        last = self.last_orders[1 if kind == "deploy" else 0]
        if self.holder_request.lock_slot == kind:
            last = max(last, self.holder_request.order)
        return max(last, waiting.order if waiting else "")

    def supersedes(self, request: RunRequest) -> bool:
        """A newer request of `request`'s kind holds the lock or waits for it."""
        return self.newest_order(request.lock_slot) > request.order

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> LockRecord | None:
        """From the item as JSON values (codec.from_item); None when nobody holds the lock."""
        if not data.get("holder"):
            return None

        def waiting(kind: str) -> RunRequest | None:
            stored = data.get(SLOTS[kind].pending)
            return parse_request(stored) if stored else None

        return cls(
            model=data["model"],
            holder=data["holder"],
            holder_request=parse_request(data["holder_request"]),
            since=datetime.fromisoformat(data["acquired_at"]),
            pending=waiting("retrain"),
            pending_deploy=waiting("deploy"),
            last_orders=(data.get(SLOTS["retrain"].last, ""), data.get(SLOTS["deploy"].last, "")),
        )


class Wait:
    """One model's and kind's part of a batch (`LockStore.coalesce_all`): `request` waits in place of
    `replaced` (what the batch read in the slot; None: nothing) unless it is None, and `superseded`
    are recorded SUPERSEDED by the runs named with them. A Wait's writes go in one transaction. A plain
    class, not a dataclass (which costs its module's import: tests/local/test_cold_start_modules.py)."""

    __slots__ = ("model", "replaced", "request", "superseded")

    def __init__(self, model: str) -> None:
        self.model = model
        self.request: RunRequest | None = None
        self.replaced: RunRequest | None = None
        self.superseded: list[tuple[RunRequest, str]] = []  # (request, the run id superseding it)

    def items(self, store: LockStore) -> list[dict[str, Any]]:
        waits = store._wait_items(self.request, self.replaced) if self.request is not None else []
        return waits + [store._superseded_put(r, by) for r, by in self.superseded]

    @property
    def requests(self) -> list[RunRequest]:
        """Every request the Wait decides, the one waiting last."""
        return [r for r, _ in self.superseded] + ([self.request] if self.request is not None else [])


class LockStore(Table):
    """One item per model: the running run's id and request, and at most one pending request per kind.
    A request that loses its place is recorded in the runs table as SUPERSEDED, in the same write."""

    KEY = "model"

    def __init__(self, table_name: str, runs_table: str) -> None:
        super().__init__(table_name)
        self.runs_table = runs_table

    def acquire(self, request: RunRequest) -> LockOutcome:
        """Take the model's lock, or wait in its kind's pending slot (in place of the request waiting
        there, which is recorded SUPERSEDED in the same transaction), unless a newer request of its
        kind got there first (then this one is recorded SUPERSEDED)."""
        for _ in range(5):  # the lock can change hands between the conditional writes
            try:
                with aws_call(f"lock {self.table}/{request.model}"):
                    self.ddb.update_item(**self._take(request))
                return LockOutcome.ACQUIRED
            except StaleUpdateError:
                pass
            data = self.read(request.model) or {}
            lock = LockRecord.from_stored(data)
            newest = lock.newest_order(request.lock_slot) if lock else data.get(slot_of(request).last, "")
            if lock is None and newest == request.order:
                return LockOutcome.RELEASED  # it held the lock and let go: it has ended
            if newest > request.order:
                from seam.models.run_request import run_id_of_order  # loaded with the request itself

                self._record_superseded(request, by=run_id_of_order(newest))
                return LockOutcome.SUPERSEDED
            if lock is None or lock.holder == request.run_id:
                continue  # freed (or taken by this very run) since the write: take it again
            waiting = lock.waiting(request.lock_slot)
            if waiting is not None and waiting.run_id == request.run_id:
                return LockOutcome.COALESCED  # already waiting: nothing to write
            try:
                self._wait(request, waiting)
                return LockOutcome.COALESCED
            except StaleUpdateError:
                pass  # the lock changed since the read
        raise StaleUpdateError(f"lock of {request.model} kept changing hands")

    def _take(self, request: RunRequest) -> dict[str, Any]:
        """The conditional update that makes `request`'s run the holder: the lock is free and no newer
        request of its kind has held it (an older one arriving late after a newer run finished must
        not retrain older data), or it holds it already."""
        last = slot_of(request).last
        return {
            "TableName": self.table,
            "Key": self.key(request.model),
            "UpdateExpression": f"SET holder = :r, holder_request = :q, acquired_at = :t, {last} = :o",
            "ConditionExpression": f"holder = :r OR (attribute_not_exists(holder) AND "
            f"(attribute_not_exists({last}) OR {last} < :o))",
            "ExpressionAttributeValues": {
                ":r": {"S": request.run_id},
                ":q": {"S": request.model_dump_json()},
                ":t": {"S": utc_now().isoformat()},
                ":o": {"S": request.order},
            },
        }

    def _wait(self, request: RunRequest, replaced: RunRequest | None) -> None:
        """Make `request` wait in its slot in place of `replaced` (what Seam read there): one
        conditional write, or, when it replaces a request, one transaction with that request's
        SUPERSEDED record, so what is recorded is exactly what was replaced."""
        items = self._wait_items(request, replaced)
        with aws_call(f"lock {self.table}/{request.model} (pending)"):
            if len(items) == 1:
                self.ddb.update_item(**items[0]["Update"])
            else:
                self.ddb.transact_write_items(TransactItems=items)

    def _wait_items(self, request: RunRequest, replaced: RunRequest | None) -> list[dict[str, Any]]:
        """The writes that make `request` its model's pending request of its kind while another run
        holds the lock: conditional on the slot holding exactly `replaced` (or nothing), on `request`
        being newer than the newest of its kind that held the lock and than the slot's request, and,
        with `replaced`, its SUPERSEDED record (a TransactWriteItems of two)."""
        slot = slot_of(request)
        values = {
            ":r": {"S": request.run_id},
            ":q": {"S": request.model_dump_json()},
            ":o": {"S": request.order},
        }
        same = f"attribute_not_exists({slot.run_id})"
        if replaced is not None:
            same = f"{slot.run_id} = :old"
            values[":old"] = {"S": replaced.run_id}
        update = {
            "TableName": self.table,
            "Key": self.key(request.model),
            "UpdateExpression": f"SET {slot.pending} = :q, {slot.run_id} = :r, {slot.order} = :o",
            "ConditionExpression": f"attribute_exists(holder) AND holder <> :r AND {same} AND "
            f"(attribute_not_exists({slot.last}) OR {slot.last} < :o) AND "
            f"(attribute_not_exists({slot.order}) OR {slot.order} < :o)",
            "ExpressionAttributeValues": values,
        }
        items: list[dict[str, Any]] = [{"Update": update}]
        if replaced is not None:
            items.append(self._superseded_put(replaced, by=request.run_id))
        return items

    def _superseded_put(self, request: RunRequest, by: str) -> dict[str, Any]:
        """A transaction item: `request`'s SUPERSEDED record, unless it has a record (never overwritten)."""
        # Loaded here: only the trigger supersedes (Finalize and the reconciler, which hand the lock
        # over, do not load the run record's classes at cold start through this module).
        from seam.models.run_opening import RunOpening

        return {
            "Put": {
                "TableName": self.runs_table,
                "Item": to_item(RunOpening.superseded(request, by).item()),
                "ConditionExpression": "attribute_not_exists(run_id)",
            }
        }

    def _record_superseded(self, request: RunRequest, by: str) -> None:
        """Record a request that arrived after a newer one of its kind (superseding is for good: the
        newest order of a kind only grows). A record that exists (a redelivery) is kept as it is."""
        put = self._superseded_put(request, by)["Put"]
        with contextlib.suppress(StaleUpdateError), aws_call(f"PutItem {self.runs_table}/{request.run_id}"):
            self.ddb.put_item(**put)

    def coalesce_all(self, waits: Iterable[Wait]) -> list[Wait]:
        """Write a batch's decisions (`Wait`s) in TransactWriteItems of up to 100 items: per model and
        kind, the request that waits in place of what the batch read in its slot (`_wait_items`, the
        writes `acquire` makes one by one) and the SUPERSEDED records of the batch's requests a newer
        one took the place of. Returns the waits of any transaction a lock change cancelled: handle
        their requests one by one."""
        retry: list[Wait] = []
        chunk: list[tuple[Wait, list[dict[str, Any]]]] = []  # each wait with its items, built once
        size = 0
        for wait in [*waits, None]:
            items = wait.items(self) if wait is not None else []
            if chunk and (wait is None or size + len(items) > TRANSACT_MAX_ITEMS):
                transaction = [item for _, built in chunk for item in built]
                try:
                    with aws_call(f"TransactWriteItems {self.table} ({len(chunk)} models)"):
                        self.ddb.transact_write_items(TransactItems=transaction)
                except StaleUpdateError:  # a condition failed (the lock changed meanwhile) or a conflict
                    retry.extend(w for w, _ in chunk)
                chunk, size = [], 0
            if wait is not None:
                chunk.append((wait, items))
                size += len(items)
        return retry

    def get(self, model: str) -> LockRecord | None:
        """The model's lock while a run holds it; None when it is free."""
        return LockRecord.from_stored(self.read(model) or {})

    def list(self) -> list[HeldLock]:
        """Every held lock: its model, holder and since when (a projection: the requests it keeps are
        neither read nor parsed)."""
        from seam.models.sweep import HeldLock  # the reconciler's alone: not loaded with the store

        names = {"#m": "model", "#h": "holder", "#a": "acquired_at"}
        with aws_call(f"Scan {self.table}"):
            pages = self.ddb.get_paginator("scan").paginate(
                TableName=self.table,
                ConsistentRead=True,
                FilterExpression="attribute_exists(#h)",
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
            )
            stored = [from_item(i) for page in pages for i in page.get("Items", [])]
        return [HeldLock(d["model"], d["holder"], datetime.fromisoformat(d["acquired_at"])) for d in stored]

    def release(self, model: str, run_id: str) -> RunRequest | None:
        """Release `run_id`'s lock. A pending request takes the lock over and is returned: the caller
        starts it (a pending deploy request before a pending retrain, which keeps waiting). None when
        the lock is free now, or was not `run_id`'s (already released or handed over: releasing is
        idempotent). The item is read as stored: only a request handed over is parsed."""
        for _ in range(5):
            data = self.read(model) or {}
            if data.get("holder") != run_id:
                return None
            try:
                with aws_call(f"release lock {self.table}/{model}"):
                    return self._hand_over_or_delete(model, run_id, data)
            except StaleUpdateError:
                continue
        raise StaleUpdateError(f"lock of {model} kept changing during release")

    def _hand_over_or_delete(self, model: str, run_id: str, data: dict[str, Any]) -> RunRequest | None:
        for kind in HAND_OVER_FIRST:  # a deploy request waiting takes the lock before a retrain
            slot = SLOTS[kind]
            stored = data.get(slot.pending)
            if not stored:
                continue
            pending = parse_request(stored)
            self.ddb.update_item(
                TableName=self.table,
                Key=self.key(model),
                UpdateExpression="SET holder = :p, holder_request = :q, acquired_at = :t, "
                f"{slot.last} = :o REMOVE {slot.pending}, {slot.run_id}, {slot.order}",
                ConditionExpression=f"holder = :me AND {slot.run_id} = :p",
                ExpressionAttributeValues={
                    ":me": {"S": run_id},
                    ":p": {"S": pending.run_id},
                    ":q": {"S": pending.model_dump_json()},
                    ":t": {"S": utc_now().isoformat()},
                    ":o": {"S": pending.order},
                },
            )
            return pending
        # Free the lock but keep the item: its orders turn away requests older than the last holders.
        self.ddb.update_item(
            TableName=self.table,
            Key=self.key(model),
            UpdateExpression="REMOVE holder, holder_request, acquired_at",
            ConditionExpression="holder = :me AND "
            + " AND ".join(f"attribute_not_exists({slot.pending})" for slot in SLOTS.values()),
            ExpressionAttributeValues={":me": {"S": run_id}},
        )
        return None
