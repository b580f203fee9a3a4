"""Run records keyed by run id (RunsTable): a terminal status is never overwritten."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item, to_attribute, to_item
from seam.adapters.dynamodb.table import Table
from seam.errors import StaleUpdateError
from seam.models.run import TERMINAL_STATUSES, RunStatus, utc_now

if TYPE_CHECKING:
    from seam.models.decision import Decision
    from seam.models.run_opening import RunOpening
    from seam.models.run_progress import RunProgress
    from seam.models.run_record import Run
    from seam.models.sweep import QuietRun


def _run(record: dict[str, Any]) -> Run:
    # The run record's module is loaded by the first read of a whole run, not with the store: most
    # states only update a run's fields (bench/cold_start.py charges it to the handlers that read).
    from seam.models.run_record import Run

    return Run.model_validate(record)


class RunStore(Table):
    KEY = "run_id"

    def create(self, run: RunOpening) -> bool:
        """Insert the run (a whole record, or as it is opened) unless it exists; True when this call
        created it."""
        try:
            with aws_call(f"PutItem {self.table}/{run.run_id}"):
                self.ddb.put_item(
                    TableName=self.table,
                    Item=to_item(run.item()),
                    ConditionExpression="attribute_not_exists(run_id)",
                )
            return True
        except StaleUpdateError:
            return False

    def get(self, run_id: str) -> Run | None:
        record = self.read(run_id)
        return _run(record) if record else None

    def status(self, run_id: str) -> RunStatus | None:
        """The run's status (None: no such run). The trigger and the lock's hand-over read only this:
        they never load the whole record's classes."""
        record = self.read(run_id, fields=("status",))
        return RunStatus(record["status"]) if record else None

    def previous_serving(self, run_id: str) -> tuple[bool, dict[str, Any] | None]:
        """Whether the run exists, and the serving snapshot Deploy recorded before its patch (None: none
        yet). Deploy and Rollback read only this: they never load the run record's classes."""
        record = self.read(run_id, fields=("previous_serving",))
        return record is not None, (record or {}).get("previous_serving")

    def progress(self, run_id: str) -> RunProgress | None:
        """The fields Finalize reads of a run (seam.models.run_progress), None when there is no run."""
        from seam.models.run_progress import RunProgress

        record = self.read(run_id, fields=tuple(f for f in RunProgress.model_fields if f != self.KEY))
        return RunProgress.model_validate(record) if record else None

    def update(self, run_id: str, **fields: Any) -> None:
        """Set fields on a run that has not ended; a terminal status is never overwritten.
        A status change is also stamped on the run's timeline."""
        now = utc_now()
        fields["updated_at"] = now
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {
            f":v{i}": to_attribute(v.isoformat() if isinstance(v, datetime) else v)
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
                    Key=self.key(run_id),
                    UpdateExpression="SET " + ", ".join(assignments),
                    ConditionExpression=f"attribute_exists(run_id) AND {not_terminal}",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except StaleUpdateError as exc:
            raise StaleUpdateError(f"run {run_id} is missing or already ended") from exc

    def add_decision(self, run_id: str, key: str, decision: Decision) -> None:
        """Keep a later decision on the version a run made (a rejection, Seam marking a failed rollout),
        under `key` (the registry change it came from), so a redelivered event records it once.
        Terminal runs too: a decision is history, not the run's status."""
        value = to_attribute(decision.model_dump(mode="json"))
        names = {"#d": "decisions", "#k": key}
        try:
            with aws_call(f"UpdateItem {self.table}/{run_id} (decision)"):
                self.ddb.update_item(
                    TableName=self.table,
                    Key=self.key(run_id),
                    UpdateExpression="SET #d.#k = :v",
                    ConditionExpression="attribute_exists(run_id) AND attribute_type(#d, :map)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={":v": value, ":map": {"S": "M"}},
                )
            return
        except StaleUpdateError:
            pass  # no decisions map yet (or no run): create it with this one
        try:
            with aws_call(f"UpdateItem {self.table}/{run_id} (first decision)"):
                self.ddb.update_item(
                    TableName=self.table,
                    Key=self.key(run_id),
                    UpdateExpression="SET #d = :m",
                    ConditionExpression="attribute_exists(run_id) AND attribute_not_exists(#d)",
                    ExpressionAttributeNames={"#d": "decisions"},
                    ExpressionAttributeValues={":m": {"M": {key: value}}},
                )
        except StaleUpdateError as exc:
            if self.get(run_id) is None:
                raise StaleUpdateError(f"run {run_id} does not exist") from exc
            self.add_decision(run_id, key, decision)  # a concurrent first decision created the map

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
        return [_run(from_item(i)) for i in items]

    def list_since(self, since: datetime, model: str | None = None) -> list[Run]:
        """Every run started at or after `since`, newest first: the model's (by-model index) or all
        (a paginated scan). What a month's spend and `seam cost` are summed from."""
        at = {":t": {"S": since.isoformat()}}
        if model is not None:
            what, paginate = f"Query {self.table}/by-model since", "query"
            request: dict[str, Any] = {
                "IndexName": "by-model",
                "KeyConditionExpression": "model = :m AND started_at >= :t",
                "ExpressionAttributeValues": {":m": {"S": model}, **at},
                "ScanIndexForward": False,
            }
        else:
            what, paginate = f"Scan {self.table} since", "scan"
            request = {"FilterExpression": "started_at >= :t", "ExpressionAttributeValues": at}
        runs: list[Run] = []
        with aws_call(what):
            for page in self.ddb.get_paginator(paginate).paginate(TableName=self.table, **request):
                runs.extend(_run(from_item(i)) for i in page.get("Items", []))
        return sorted(runs, key=lambda r: r.started_at, reverse=True)

    def list_by_status(self, status: RunStatus, updated_before: datetime) -> list[QuietRun]:
        """The runs in `status` not updated since `updated_before`: what the reconciler checks of each."""
        from seam.models.sweep import QuietRun  # the reconciler's alone: not loaded with the store

        names = {f"#p{i}": name for i, name in enumerate(QuietRun._fields)}
        alias = {name: placeholder for placeholder, name in names.items()}
        runs: list[QuietRun] = []
        with aws_call(f"Query {self.table}/by-status"):
            for page in self.ddb.get_paginator("query").paginate(
                TableName=self.table,
                IndexName="by-status",
                KeyConditionExpression=f"{alias['status']} = :s AND {alias['updated_at']} < :t",
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":s": {"S": status.value},
                    ":t": {"S": updated_before.isoformat()},
                },
            ):
                runs.extend(QuietRun.from_stored(from_item(i)) for i in page.get("Items", []))
        return runs

    def list_recent(self, limit: int = 50) -> list[Run]:
        with aws_call(f"Scan {self.table}"):
            items = self.ddb.scan(TableName=self.table, Limit=1000).get("Items", [])
        runs = [_run(from_item(i)) for i in items]
        return sorted(runs, key=lambda r: r.started_at, reverse=True)[:limit]
