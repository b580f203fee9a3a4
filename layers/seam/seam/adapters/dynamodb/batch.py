"""One read of what starting a batch of run requests must know: which models are onboarded (and their
stored configs, which the trigger checks before a retrain starts), which runs exist (and their status),
and each model's lock. BatchGetItem across the three tables."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from seam.adapters.aws import aws_call, client
from seam.adapters.dynamodb.codec import from_item
from seam.adapters.dynamodb.locks import LockRecord, LockStore
from seam.adapters.dynamodb.runs import RunStore
from seam.errors import TransientError
from seam.models.run import RunStatus

if TYPE_CHECKING:  # a batch reads configs as stored (JSON values): its table and key, not ModelConfig
    from seam.adapters.dynamodb.models import ModelStore

BATCH_GET_MAX_KEYS = 100  # BatchGetItem's limit per call


class BatchView(NamedTuple):  # a NamedTuple: seam.adapters.dynamodb.tokens.TokenRecord says why
    onboarded: frozenset[str]  # the models asked about that have a config
    configs: dict[str, dict[str, Any]]  # model -> its stored config record (JSON values, unparsed)
    run_status: dict[str, RunStatus]  # run id -> status, for the runs asked about that exist
    locks: dict[str, LockRecord]  # model -> its lock, for the models asked about whose lock is held


def read_batch(
    models: ModelStore, runs: RunStore, locks: LockStore, model_names: Iterable[str], run_ids: Iterable[str]
) -> BatchView:
    """Configs, runs and locks for a batch, strongly consistent, in as few calls as the key limit allows."""
    model_keys = [models.key(m) for m in set(model_names)]  # the models and locks tables share the key
    found = batch_get(
        {models.table: model_keys, runs.table: [runs.key(r) for r in run_ids], locks.table: model_keys}
    )
    stored = (LockRecord.from_stored(item) for item in found[locks.table])
    return BatchView(
        onboarded=frozenset(item["model"] for item in found[models.table]),
        configs={item["model"]: item for item in found[models.table]},
        run_status={item["run_id"]: RunStatus(item["status"]) for item in found[runs.table]},
        locks={lock.model: lock for lock in stored if lock is not None},
    )


def batch_get(
    keys: dict[str, list[dict[str, Any]]], projections: dict[str, str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Items for many keys across tables in as few (strongly consistent) BatchGetItem calls as the
    100-key limit allows; keys DynamoDB leaves unprocessed (throttling) are asked again with backoff."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in keys}
    unique = {(table, json.dumps(key, sort_keys=True)): key for table, ks in keys.items() for key in ks}
    wanted = [(table, key) for (table, _), key in unique.items()]
    for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
        request: dict[str, Any] = {}
        for table, key in wanted[start : start + BATCH_GET_MAX_KEYS]:
            entry = request.setdefault(table, {"Keys": [], "ConsistentRead": True})
            if projections and table in projections:
                entry["ProjectionExpression"] = projections[table]
            entry["Keys"].append(key)
        for attempt in range(6):
            with aws_call(f"BatchGetItem {','.join(sorted(request))}"):
                response = client("dynamodb").batch_get_item(RequestItems=request)
            for table, items in response.get("Responses", {}).items():
                found[table].extend(from_item(item) for item in items)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise TransientError("BatchGetItem left keys unprocessed after 6 attempts")
    return found
