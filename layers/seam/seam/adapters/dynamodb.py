"""DynamoDB stores: model configs, runs, versions + champion, task tokens and per-model locks.

Every write that guards an invariant is conditional, so the invariant holds under retries, duplicate
events and concurrent Lambdas: one holder per model lock, one settlement per task token, a terminal
run status never overwritten, the champion moved only from the version a challenger beat.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from seam.adapters.aws import aws_call, client, error_code
from seam.errors import ConfigError, ModelNotFoundError, StaleUpdateError, TransientError
from seam.models.model_config import ModelConfig
from seam.models.run import TERMINAL_STATUSES, Run, RunRequest, RunStatus, utc_now
from seam.models.version import Champion, ModelVersion

# DynamoDB numbers: 38 significant digits, exponent -128..+126; anything else is refused, not rounded.
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """A dict of JSON values as DynamoDB attribute values (None values left out). What boto3's
    TypeSerializer gives for JSON values (tests/unit check it), without importing boto3 at cold start."""
    # DynamoDB wants decimal strings, never floats; a JSON round trip does it for nested values too.
    plain = json.loads(json.dumps(data, default=str), parse_float=Decimal)
    return {k: _attribute(v) for k, v in plain.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values back to JSON values (integral numbers as int, others as float)."""
    return {k: _json_value(v) for k, v in item.items()}


def _attribute(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(_NUMBERS.create_decimal(value))}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def _json_value(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind in ("S", "BOOL"):
        return value
    if kind == "N":
        return _number(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _json_value(v) for k, v in value.items()}
    if kind == "L":
        return [_json_value(v) for v in value]
    if kind == "SS":
        return sorted(value)
    if kind == "NS":
        return sorted(_number(n) for n in value)
    raise TypeError(f"DynamoDB type {kind} has no JSON value")


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def _value(value: Any) -> dict[str, Any]:
    return to_item({"v": value})["v"]


def _conditional_failed(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


BATCH_GET_MAX_KEYS = 100  # BatchGetItem's limit per call
TRANSACT_MAX_ITEMS = 100  # TransactWriteItems' limit per call


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


class _Table:
    def __init__(self, table_name: str) -> None:
        self.table = table_name

    @property
    def ddb(self) -> Any:
        return client("dynamodb")


class ModelStore(_Table):
    """Model configs keyed by name. Small (one item per model): listed with a cached scan."""

    _cache: tuple[float, list[ModelConfig]] | None = None
    CACHE_SECONDS = 60.0

    def get(self, name: str) -> ModelConfig:
        with aws_call(f"GetItem {self.table}/{name}"):
            item = self.ddb.get_item(TableName=self.table, Key={"model": {"S": name}}).get("Item")
        if not item:
            raise ModelNotFoundError(f"model {name!r} is not onboarded")
        return self._parse(from_item(item))

    def put(self, config: ModelConfig) -> None:
        record = {"model": config.name, "config": config.model_dump(mode="json"), "updated_at": utc_now()}
        with aws_call(f"PutItem {self.table}/{config.name}"):
            self.ddb.put_item(TableName=self.table, Item=to_item(record))
        self._cache = None

    def list(self, fresh: bool = False) -> list[ModelConfig]:
        if not fresh and self._cache and time.monotonic() - self._cache[0] < self.CACHE_SECONDS:
            return self._cache[1]
        configs: list[ModelConfig] = []
        with aws_call(f"Scan {self.table}"):
            for page in self.ddb.get_paginator("scan").paginate(TableName=self.table):
                configs.extend(self._parse(from_item(i)) for i in page.get("Items", []))
        self._cache = (time.monotonic(), configs)
        return configs

    def for_alarm(self, alarm_name: str) -> list[ModelConfig]:
        return [c for c in self.list() if alarm_name in c.drift_alarms]

    @staticmethod
    def _parse(record: dict[str, Any]) -> ModelConfig:
        try:
            return ModelConfig.model_validate(record["config"])
        except (ValidationError, KeyError) as exc:
            raise ConfigError(f"stored config for {record.get('model')!r} is invalid: {exc}") from exc


class RunStore(_Table):
    def create(self, run: Run) -> bool:
        """Insert the run unless it exists; True when this call created it."""
        try:
            with aws_call(f"PutItem {self.table}/{run.run_id}"):
                self.ddb.put_item(
                    TableName=self.table,
                    Item=to_item(run.model_dump(mode="json")),
                    ConditionExpression="attribute_not_exists(run_id)",
                )
            return True
        except StaleUpdateError:
            return False

    def get(self, run_id: str) -> Run | None:
        with aws_call(f"GetItem {self.table}/{run_id}"):
            item = self.ddb.get_item(
                TableName=self.table, Key={"run_id": {"S": run_id}}, ConsistentRead=True
            ).get("Item")
        return Run.model_validate(from_item(item)) if item else None

    def update(self, run_id: str, **fields: Any) -> None:
        """Set fields on a run that has not ended; a terminal status is never overwritten.
        A status change is also stamped on the run's timeline."""
        now = utc_now()
        fields["updated_at"] = now
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {
            f":v{i}": _value(v.isoformat() if isinstance(v, datetime) else v)
            for i, v in enumerate(fields.values())
        }
        assignments = [f"#f{i} = :v{i}" for i in range(len(fields))]
        if "status" in fields:
            names.update({"#tl": "timeline", "#st": str(fields["status"])})
            values[":now"] = {"S": now.isoformat()}
            assignments.append("#tl.#st = :now")
        values.update({f":t{i}": {"S": s.value} for i, s in enumerate(TERMINAL_STATUSES)})
        not_terminal = " AND ".join(f"#status <> :t{i}" for i in range(len(TERMINAL_STATUSES)))
        names["#status"] = "status"
        try:
            with aws_call(f"UpdateItem {self.table}/{run_id}"):
                self.ddb.update_item(
                    TableName=self.table,
                    Key={"run_id": {"S": run_id}},
                    UpdateExpression="SET " + ", ".join(assignments),
                    ConditionExpression=f"attribute_exists(run_id) AND {not_terminal}",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except StaleUpdateError as exc:
            raise StaleUpdateError(f"run {run_id} is missing or already ended") from exc

    def list_for_model(self, model: str, limit: int = 20) -> list[Run]:
        with aws_call(f"Query {self.table}/by-model"):
            items = self.ddb.query(
                TableName=self.table,
                IndexName="by-model",
                KeyConditionExpression="model = :m",
                ExpressionAttributeValues={":m": {"S": model}},
                ScanIndexForward=False,
                Limit=limit,
            )["Items"]
        return [Run.model_validate(from_item(i)) for i in items]

    def list_by_status(self, status: RunStatus, updated_before: datetime) -> list[Run]:
        runs: list[Run] = []
        with aws_call(f"Query {self.table}/by-status"):
            for page in self.ddb.get_paginator("query").paginate(
                TableName=self.table,
                IndexName="by-status",
                KeyConditionExpression="#s = :s AND updated_at < :t",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":s": {"S": status.value},
                    ":t": {"S": updated_before.isoformat()},
                },
            ):
                runs.extend(Run.model_validate(from_item(i)) for i in page.get("Items", []))
        return runs

    def list_recent(self, limit: int = 50) -> list[Run]:
        with aws_call(f"Scan {self.table}"):
            items = self.ddb.scan(TableName=self.table, Limit=1000).get("Items", [])
        runs = [Run.model_validate(from_item(i)) for i in items]
        return sorted(runs, key=lambda r: r.started_at, reverse=True)[:limit]


class VersionStore(_Table):
    """Versions under (model, version); the champion pointer is the item (model, "champion")."""

    CHAMPION = "champion"

    def put_version(self, version: ModelVersion) -> None:
        with aws_call(f"PutItem {self.table}/{version.model}/{version.version}"):
            self.ddb.put_item(TableName=self.table, Item=to_item(version.model_dump(mode="json")))

    def list_versions(self, model: str) -> list[ModelVersion]:
        with aws_call(f"Query {self.table}/{model}"):
            items = self.ddb.query(
                TableName=self.table,
                KeyConditionExpression="model = :m",
                ExpressionAttributeValues={":m": {"S": model}},
            )["Items"]
        return [
            ModelVersion.model_validate(from_item(i)) for i in items if i["version"]["S"] != self.CHAMPION
        ]

    def champion(self, model: str) -> Champion | None:
        with aws_call(f"GetItem {self.table}/{model}/champion"):
            item = self.ddb.get_item(
                TableName=self.table,
                ConsistentRead=True,
                Key={"model": {"S": model}, "version": {"S": self.CHAMPION}},
            ).get("Item")
        if not item:
            return None
        data = from_item(item)
        return Champion.model_validate({**data, "version": data["champion_version"]})

    def promote(self, champion: Champion, replaces: str | None) -> None:
        """Move the pointer only if it still points at the version the challenger was compared with."""
        item = to_item(
            {
                **champion.model_dump(mode="json"),
                "champion_version": champion.version,
                "version": self.CHAMPION,
            }
        )
        condition, values = "attribute_not_exists(champion_version)", {}
        if replaces is not None:
            condition, values = "champion_version = :old", {":old": {"S": replaces}}
        try:
            with aws_call(f"PutItem {self.table}/{champion.model}/champion"):
                self.ddb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
        except StaleUpdateError as exc:
            raise StaleUpdateError(
                f"champion of {champion.model} moved since evaluation (expected {replaces})"
            ) from exc


@dataclass(frozen=True)
class TokenRecord:
    training_job_name: str
    task_token: str
    run_id: str
    settled: str | None = None  # "success" | "failure" once settled
    claimed_by: str | None = None  # who claimed it (an SQS message id, "reconciler"), if it said
    sent: bool = False  # Step Functions has the settlement (or had already moved on)


class TokenStore(_Table):
    """Task tokens keyed by training job name; written before CreateTrainingJob."""

    TTL_SECONDS = 35 * 24 * 3600

    def put(self, job_name: str, token: str, run_id: str) -> None:
        record = {
            "training_job_name": job_name,
            "task_token": token,
            "run_id": run_id,
            "created_at": utc_now(),
            "expires_at": int(time.time()) + self.TTL_SECONDS,
        }
        # A retried launch replaces the token of a not-yet-settled job with the live one.
        with suppress(StaleUpdateError), aws_call(f"PutItem {self.table}/{job_name}"):
            self.ddb.put_item(
                TableName=self.table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(settled)",
            )

    def get(self, job_name: str) -> TokenRecord | None:
        with aws_call(f"GetItem {self.table}/{job_name}"):
            item = self.ddb.get_item(
                TableName=self.table, ConsistentRead=True, Key={"training_job_name": {"S": job_name}}
            ).get("Item")
        if not item:
            return None
        data = from_item(item)
        return TokenRecord(
            data["training_job_name"],
            data["task_token"],
            data["run_id"],
            data.get("settled"),
            data.get("claimed_by"),
            "sent_at" in data,
        )

    def _update(self, job_name: str, **params: Any) -> None:
        with aws_call(f"UpdateItem {self.table}/{job_name}"):
            self.ddb.update_item(TableName=self.table, Key={"training_job_name": {"S": job_name}}, **params)

    def mark_sent(self, job_name: str) -> None:
        """Record that the claimed settlement reached Step Functions: nobody needs to send it again."""
        self._update(
            job_name,
            UpdateExpression="SET sent_at = :t",
            ConditionExpression="attribute_exists(settled)",
            ExpressionAttributeValues={":t": {"S": utc_now().isoformat()}},
        )

    def claim(self, job_name: str, outcome: str, claimant: str | None = None) -> bool:
        """Mark the token settled; True for exactly one caller.

        A `claimant` may claim again what it claimed before: when the UpdateItem was applied but its
        response lost, the SDK's retry (or the redelivered message) must not find the token taken by
        nobody who will ever send it."""
        condition = "attribute_exists(task_token) AND attribute_not_exists(settled)"
        update = "SET settled = :o, settled_at = :t"
        values = {":o": {"S": outcome}, ":t": {"S": utc_now().isoformat()}}
        if claimant:
            condition = "attribute_exists(task_token) AND (attribute_not_exists(settled) OR claimed_by = :c)"
            update += ", claimed_by = :c"
            values[":c"] = {"S": claimant}
        try:
            self._update(
                job_name,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
            return True
        except StaleUpdateError:
            return False

    def unclaim(self, job_name: str) -> None:
        """Undo a claim whose SendTask* call failed transiently, so a retry can settle it."""
        self._update(job_name, UpdateExpression="REMOVE settled, settled_at, claimed_by")


class LockOutcome(StrEnum):
    ACQUIRED = "acquired"  # this run holds the model's lock (new, or it already did)
    COALESCED = "coalesced"  # another run holds it; this request is the model's one pending retrain


class LockStore(_Table):
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
