"""DynamoDB transactions back each table up once. moto backs a table up (a deep copy) once per item of
a TransactWriteItems, so a 10-item transaction copied the table 10 times (54 ms of a storm batch's
~70 ms). The backups are all taken before the first write, so one copy per table is the same rollback
state: while installed, each table is copied once per transaction.

moto members: `moto.dynamodb.models.DynamoDBBackend.transact_write_items` (wrapped: it marks the
transaction on this thread) and the `copy` module as `moto.dynamodb.models` names it (replaced by one
whose deepcopy returns a table's first copy within the transaction). The copies are taken inside
moto's method, and moto has no option to skip or share them.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend

from seam_local.moto_hooks.patching import Hook, Patch


class _OneCopyPerTable:
    """Stands in for the `copy` module inside moto.dynamodb.models: while a transaction runs on this
    thread, a second deep copy of the same table returns the first (nothing was written between them)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        copies = getattr(self._local, "copies", None)
        if copies is None or memo is not None:
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = (value, copy.deepcopy(value))  # holds `value`, so its id stays unique
        return copies[id(value)][1]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._local.copies = {}
        try:
            yield
        finally:
            self._local.copies = None


_one_copy_per_table = _OneCopyPerTable()


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    with _one_copy_per_table.transaction():
        TRANSACT.original(self, transact_items)


def _moto_backs_tables_up_before_writing() -> None:
    if COPY.original is not copy:
        raise RuntimeError("moto.dynamodb.models no longer names the copy module `copy`")
    backup = "original_table_state[table_name] = copy.deepcopy("
    source = inspect.getsource(TRANSACT.original)
    if backup not in source or source.index(backup) > source.index("self.put_item("):
        raise RuntimeError("moto's transact_write_items no longer backs tables up before writing")


COPY = Patch(dynamodb_models, "copy", _one_copy_per_table)
TRANSACT = Patch(
    DynamoDBBackend, "transact_write_items", _transact_write_items, params=("self", "transact_items")
)
HOOK: Hook[None] = Hook([COPY, TRANSACT], check=_moto_backs_tables_up_before_writing)
check = HOOK.check
