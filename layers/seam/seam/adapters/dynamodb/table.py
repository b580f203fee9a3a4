"""What every store shares: its table name and client, and BatchGetItem across tables."""

from __future__ import annotations

import json
import time
from typing import Any

from seam.adapters.aws import aws_call, client
from seam.adapters.dynamodb.codec import from_item
from seam.errors import TransientError

BATCH_GET_MAX_KEYS = 100  # BatchGetItem's limit per call


class Table:
    def __init__(self, table_name: str) -> None:
        self.table = table_name

    @property
    def ddb(self) -> Any:
        return client("dynamodb")


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
