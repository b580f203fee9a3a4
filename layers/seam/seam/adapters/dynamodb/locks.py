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

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item
from seam.adapters.dynamodb.table import Table
from seam.errors import StaleUpdateError
from seam.models.run import RunRequest, utc_now

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
            return RunRequest.model_validate_json(stored) if stored else None

        return cls(
            model=data["model"],
            holder=data["holder"],
            holder_request=RunRequest.model_validate_json(data["holder_request"]),
            since=datetime.fromisoformat(data["acquired_at"]),
            pending=waiting("retrain"),
            pending_deploy=waiting("deploy"),
            last_orders=(data.get(SLOTS["retrain"].last, ""), data.get(SLOTS["deploy"].last, "")),
        )


class LockStore(Table):
    """One item per model: the running run's id and request, and at most one pending request per kind."""

    KEY = "model"

    def acquire(self, request: RunRequest) -> LockOutcome:
        """Take the model's lock, or wait in its kind's pending slot, unless a newer request of its kind
        got there first."""
        run_id, order, slot = request.run_id, request.order, slot_of(request)
        key = f"lock {self.table}/{request.model}"
        for _ in range(5):  # the lock can change hands between the conditional writes
            try:
                with aws_call(key):
                    self.ddb.update_item(
                        TableName=self.table,
                        Key=self.key(request.model),
                        UpdateExpression="SET holder = :r, holder_request = :q, acquired_at = :t, "
                        f"{slot.last} = :o",
                        # Free, and no newer request of its kind has held it (an older one arriving
                        # late after a newer run finished must not retrain older data) - or ours already.
                        ConditionExpression=f"holder = :r OR (attribute_not_exists(holder) AND "
                        f"(attribute_not_exists({slot.last}) OR {slot.last} < :o))",
                        ExpressionAttributeValues={
                            ":r": {"S": run_id},
                            ":q": {"S": request.model_dump_json()},
                            ":t": {"S": utc_now().isoformat()},
                            ":o": {"S": order},
                        },
                    )
                return LockOutcome.ACQUIRED
            except StaleUpdateError:
                pass
            try:
                with aws_call(key):
                    self.ddb.update_item(**self._make_pending(request))
                return LockOutcome.COALESCED
            except StaleUpdateError:
                pass
            refused = self._refusal(request)
            if refused:
                return refused
        raise StaleUpdateError(f"lock of {request.model} kept changing hands")

    def _refusal(self, request: RunRequest) -> LockOutcome | None:
        """Why both writes were refused, when the refusal is final (else the lock changed hands)."""
        data = self.read(request.model) or {}
        lock = LockRecord.from_stored(data)
        if lock is not None:
            return LockOutcome.SUPERSEDED if lock.supersedes(request) else None
        last = data.get(slot_of(request).last, "")
        if last == request.order:
            return LockOutcome.RELEASED
        return LockOutcome.SUPERSEDED if last > request.order else None

    def _make_pending(self, request: RunRequest) -> dict[str, Any]:
        """The conditional update that makes `request` its model's pending request of its kind while
        another run holds the lock: only when it is newer than the newest of its kind that held the
        lock and than its slot's pending request (the same request again is a no-op). Coalescing keeps
        one pending request per kind, the newest."""
        slot = slot_of(request)
        return {
            "TableName": self.table,
            "Key": self.key(request.model),
            "UpdateExpression": f"SET {slot.pending} = :q, {slot.run_id} = :r, {slot.order} = :o",
            "ConditionExpression": f"attribute_exists(holder) AND holder <> :r AND "
            f"(attribute_not_exists({slot.last}) OR {slot.last} < :o) AND "
            f"(attribute_not_exists({slot.order}) OR {slot.order} <= :o)",
            "ExpressionAttributeValues": {
                ":r": {"S": request.run_id},
                ":q": {"S": request.model_dump_json()},
                ":o": {"S": request.order},
            },
        }

    def coalesce_all(self, requests: Iterable[RunRequest]) -> list[RunRequest]:
        """Make each request its model's pending request of its kind, for models whose lock another run
        holds, in one TransactWriteItems per 100 (`_make_pending`, the write `acquire` makes one by one).
        Returns the requests of any transaction a lock change cancelled: handle those one by one."""
        requests = list(requests)
        retry: list[RunRequest] = []
        for start in range(0, len(requests), TRANSACT_MAX_ITEMS):
            chunk = requests[start : start + TRANSACT_MAX_ITEMS]
            items = [{"Update": self._make_pending(r)} for r in chunk]
            try:
                with aws_call(f"TransactWriteItems {self.table} ({len(chunk)} pending)"):
                    self.ddb.transact_write_items(TransactItems=items)
            except StaleUpdateError:  # a condition failed (a lock was released meanwhile) or a conflict
                retry.extend(chunk)
        return retry

    def get(self, model: str) -> LockRecord | None:
        """The model's lock while a run holds it; None when it is free."""
        return LockRecord.from_stored(self.read(model) or {})

    def list(self) -> list[LockRecord]:
        """Every held lock."""
        with aws_call(f"Scan {self.table}"):
            pages = self.ddb.get_paginator("scan").paginate(
                TableName=self.table, ConsistentRead=True, FilterExpression="attribute_exists(holder)"
            )
            stored = (LockRecord.from_stored(from_item(i)) for page in pages for i in page.get("Items", []))
            return [lock for lock in stored if lock is not None]

    def release(self, model: str, run_id: str) -> RunRequest | None:
        """Release `run_id`'s lock. A pending request takes the lock over and is returned: the caller
        starts it (a pending deploy request before a pending retrain, which keeps waiting). None when
        the lock is free now, or was not `run_id`'s (already released or handed over: releasing is
        idempotent)."""
        for _ in range(5):
            lock = self.get(model)
            if lock is None or lock.holder != run_id:
                return None
            try:
                with aws_call(f"release lock {self.table}/{model}"):
                    return self._hand_over_or_delete(model, run_id, lock)
            except StaleUpdateError:
                continue
        raise StaleUpdateError(f"lock of {model} kept changing during release")

    def _hand_over_or_delete(self, model: str, run_id: str, lock: LockRecord) -> RunRequest | None:
        for kind in HAND_OVER_FIRST:  # a deploy request waiting takes the lock before a retrain
            pending = lock.waiting(kind)
            if pending is None:
                continue
            slot = SLOTS[kind]
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
