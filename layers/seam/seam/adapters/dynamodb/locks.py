"""Per-model locks (LocksTable): one holder per model, at most one pending request, newest wins.

The item: `model`; `holder` (the holding run's id), `holder_request` (its request, JSON) and
`acquired_at`; while another request waits, `pending` (its request, JSON), `pending_run_id` and
`pending_order`. `holder_order` is the order (`RunRequest.order`) of the newest request that took
the lock; it stays when the lock is released, so the item outlives its holder.

"Newest" is the event's own order, not arrival: every write is conditional on the request being
newer than the holder (current or last) and than the pending request. So an older request that
arrives late (a redelivery, or a slow trigger container) never takes the pending slot from a newer
one and never restarts after a newer run took the lock: it is SUPERSEDED.
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
    COALESCED = "coalesced"  # another run holds it; this request is the model's one pending retrain
    SUPERSEDED = "superseded"  # a newer request holds, held or waits for the lock: nothing to do
    RELEASED = "released"  # this very run held the lock and released it: it has ended


class LockRecord(NamedTuple):
    """A model's lock as stored: who holds it, since when, and the request waiting for it. A NamedTuple
    (seam.adapters.dynamodb.tokens.TokenRecord says why)."""

    model: str
    holder: str  # run id of the run holding the lock
    holder_request: RunRequest  # what the holder was started from (started again if its start was lost)
    since: datetime  # when the holder took the lock (acquired, or handed over)
    pending: RunRequest | None = None  # the model's one pending retrain: the newest request wins

    @property
    def pending_run_id(self) -> str | None:
        return self.pending.run_id if self.pending else None

    def supersedes(self, request: RunRequest) -> bool:
        """A newer request than `request` holds the lock or waits for it."""
        newest = max(self.holder_request.order, self.pending.order if self.pending else "")
        return newest > request.order

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> LockRecord | None:
        """From the item as JSON values (codec.from_item); None when nobody holds the lock."""
        if not data.get("holder"):
            return None
        return cls(
            model=data["model"],
            holder=data["holder"],
            holder_request=RunRequest.model_validate_json(data["holder_request"]),
            since=datetime.fromisoformat(data["acquired_at"]),
            pending=RunRequest.model_validate_json(data["pending"]) if data.get("pending") else None,
        )


class LockStore(Table):
    """One item per model: the running run's id and request, and at most one pending request."""

    KEY = "model"

    def acquire(self, request: RunRequest) -> LockOutcome:
        """Take the model's lock, or become its pending retrain, unless a newer request got there first."""
        run_id, order = request.run_id, request.order
        key = f"lock {self.table}/{request.model}"
        for _ in range(5):  # the lock can change hands between the conditional writes
            try:
                with aws_call(key):
                    self.ddb.update_item(
                        TableName=self.table,
                        Key=self.key(request.model),
                        UpdateExpression="SET holder = :r, holder_request = :q, acquired_at = :t, "
                        "holder_order = :o",
                        # Free, and no newer request has held it (an older one arriving late after
                        # a newer run finished must not retrain older data) - or ours already.
                        ConditionExpression="holder = :r OR (attribute_not_exists(holder) AND "
                        "(attribute_not_exists(holder_order) OR holder_order < :o))",
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
        last = data.get("holder_order", "")
        if last == request.order:
            return LockOutcome.RELEASED
        return LockOutcome.SUPERSEDED if last > request.order else None

    def _make_pending(self, request: RunRequest) -> dict[str, Any]:
        """The conditional update that makes `request` its model's pending retrain while another run
        holds the lock: only when it is newer than the holder and than the pending request (the same
        request again is a no-op). Coalescing keeps one pending retrain, on the newest data."""
        return {
            "TableName": self.table,
            "Key": self.key(request.model),
            "UpdateExpression": "SET pending = :q, pending_run_id = :r, pending_order = :o",
            "ConditionExpression": "attribute_exists(holder) AND holder <> :r AND "
            "(attribute_not_exists(holder_order) OR holder_order < :o) AND "
            "(attribute_not_exists(pending_order) OR pending_order <= :o)",
            "ExpressionAttributeValues": {
                ":r": {"S": request.run_id},
                ":q": {"S": request.model_dump_json()},
                ":o": {"S": request.order},
            },
        }

    def coalesce_all(self, requests: Iterable[RunRequest]) -> list[RunRequest]:
        """Make each request its model's pending retrain, for models whose lock another run holds, in
        one TransactWriteItems per 100 models (`_make_pending`, the write `acquire` makes one by one).
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
        starts it. None when the lock is free now, or was not `run_id`'s (already released or handed
        over: releasing is idempotent)."""
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
        pending = lock.pending
        if pending is not None:
            self.ddb.update_item(
                TableName=self.table,
                Key=self.key(model),
                UpdateExpression="SET holder = :p, holder_request = :q, acquired_at = :t, holder_order = :o "
                "REMOVE pending, pending_run_id, pending_order",
                ConditionExpression="holder = :me AND pending_run_id = :p",
                ExpressionAttributeValues={
                    ":me": {"S": run_id},
                    ":p": {"S": pending.run_id},
                    ":q": {"S": pending.model_dump_json()},
                    ":t": {"S": utc_now().isoformat()},
                    ":o": {"S": pending.order},
                },
            )
            return pending
        # Free the lock but keep the item: its holder_order turns away requests older than this run.
        self.ddb.update_item(
            TableName=self.table,
            Key=self.key(model),
            UpdateExpression="REMOVE holder, holder_request, acquired_at",
            ConditionExpression="holder = :me AND attribute_not_exists(pending)",
            ExpressionAttributeValues={":me": {"S": run_id}},
        )
        return None
