"""Per-model locks (LocksTable): one holder per model, at most one pending request."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item
from seam.adapters.dynamodb.table import Table
from seam.errors import StaleUpdateError
from seam.models.run import RunRequest, utc_now

TRANSACT_MAX_ITEMS = 100  # TransactWriteItems' limit per call


class LockOutcome(StrEnum):
    ACQUIRED = "acquired"  # this run holds the model's lock (new, or it already did)
    COALESCED = "coalesced"  # another run holds it; this request is the model's one pending retrain


class LockStore(Table):
    """One item per model: the running run's id and request, and at most one pending request."""

    def acquire(self, request: RunRequest) -> LockOutcome:
        run_id = request.run_id
        payload = request.model_dump_json()
        for _ in range(5):  # the lock can change hands between the two conditional writes
            key = f"lock {self.table}/{request.model}"
            try:
                with aws_call(key):
                    self.ddb.update_item(
                        TableName=self.table,
                        Key={"model": {"S": request.model}},
                        UpdateExpression="SET holder = :r, holder_request = :q, acquired_at = :t",
                        ConditionExpression="attribute_not_exists(holder) OR holder = :r",
                        ExpressionAttributeValues={
                            ":r": {"S": run_id},
                            ":q": {"S": payload},
                            ":t": {"S": utc_now().isoformat()},
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
        raise StaleUpdateError(f"lock of {request.model} kept changing hands")

    def _make_pending(self, request: RunRequest) -> dict[str, Any]:
        """The conditional update that makes `request` its model's pending retrain while another run
        holds the lock. Newest request wins: coalescing keeps one pending retrain on the latest data."""
        return {
            "TableName": self.table,
            "Key": {"model": {"S": request.model}},
            "UpdateExpression": "SET pending = :q, pending_run_id = :r",
            "ConditionExpression": "attribute_exists(holder) AND holder <> :r",
            "ExpressionAttributeValues": {
                ":r": {"S": request.run_id},
                ":q": {"S": request.model_dump_json()},
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

    def get(self, model: str) -> dict[str, Any] | None:
        with aws_call(f"GetItem {self.table}/{model}"):
            item = self.ddb.get_item(
                TableName=self.table, Key={"model": {"S": model}}, ConsistentRead=True
            ).get("Item")
        return from_item(item) if item else None

    def list(self) -> list[dict[str, Any]]:
        with aws_call(f"Scan {self.table}"):
            pages = self.ddb.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
            return [from_item(i) for page in pages for i in page.get("Items", [])]

    def release(self, model: str, run_id: str) -> RunRequest | None:
        """Release `run_id`'s lock. A pending request takes the lock over and is returned to start."""
        for _ in range(5):
            lock = self.get(model)
            if not lock or lock.get("holder") != run_id:
                return None  # not ours (already released or handed over): releasing is idempotent
            try:
                with aws_call(f"release lock {self.table}/{model}"):
                    return self._hand_over_or_delete(model, run_id, lock)
            except StaleUpdateError:
                continue
        raise StaleUpdateError(f"lock of {model} kept changing during release")

    def _hand_over_or_delete(self, model: str, run_id: str, lock: dict[str, Any]) -> RunRequest | None:
        if lock.get("pending"):
            pending = RunRequest.model_validate_json(lock["pending"])
            self.ddb.update_item(
                TableName=self.table,
                Key={"model": {"S": model}},
                UpdateExpression="SET holder = :p, holder_request = :q, acquired_at = :t "
                "REMOVE pending, pending_run_id",
                ConditionExpression="holder = :me AND pending_run_id = :p",
                ExpressionAttributeValues={
                    ":me": {"S": run_id},
                    ":p": {"S": pending.run_id},
                    ":q": {"S": lock["pending"]},
                    ":t": {"S": utc_now().isoformat()},
                },
            )
            return pending
        self.ddb.delete_item(
            TableName=self.table,
            Key={"model": {"S": model}},
            ConditionExpression="holder = :me AND attribute_not_exists(pending)",
            ExpressionAttributeValues={":me": {"S": run_id}},
        )
        return None
