"""Task tokens keyed by training job name (TaskTokensTable): one settlement per token."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any, NamedTuple

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import to_item
from seam.adapters.dynamodb.table import Table
from seam.errors import StaleUpdateError
from seam.models.run import utc_now


class TokenRecord(NamedTuple):
    """A task token as stored. A NamedTuple, not a frozen dataclass: as immutable, without the methods
    a dataclass compiles when its module loads (about 0.7 ms of each cold start that loads it)."""

    training_job_name: str
    task_token: str
    run_id: str
    settled: str | None = None  # "success" | "failure" once settled
    claimed_by: str | None = None  # who claimed it (an SQS message id, "reconciler"), if it said
    sent: bool = False  # Step Functions has the settlement (or had already moved on)
    # The job the run asked for (role_arn, image, output_uri, stage): what settling checks a job
    # against before it adopts the job's result. None only for tokens stored before it was kept.
    expected: dict[str, str] | None = None


class TokenStore(Table):
    """Task tokens keyed by training job name; written before CreateTrainingJob."""

    KEY = "training_job_name"

    TTL_SECONDS = 35 * 24 * 3600

    def put(
        self, job_name: str, token: str, run_id: str, attempt: int = 0, expected: dict[str, str] | None = None
    ) -> None:
        """Store the task token of LaunchTraining's `attempt` (its retry count), with the job the run
        expects (`expected`). A retried launch replaces the token of a not-yet-settled job with the live
        one; an earlier attempt that was still running when Step Functions retried, and writes last,
        does not (its token is dead)."""
        record = {
            "training_job_name": job_name,
            "task_token": token,
            "run_id": run_id,
            "attempt": attempt,
            "expected": expected,
            "created_at": utc_now(),
            "expires_at": int(time.time()) + self.TTL_SECONDS,
        }
        with suppress(StaleUpdateError), aws_call(f"PutItem {self.table}/{job_name}"):
            self.ddb.put_item(
                TableName=self.table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(settled) AND "
                "(attribute_not_exists(#attempt) OR #attempt <= :attempt)",
                ExpressionAttributeNames={"#attempt": "attempt"},
                ExpressionAttributeValues={":attempt": {"N": str(attempt)}},
            )

    def get(self, job_name: str) -> TokenRecord | None:
        data = self.read(job_name)
        if data is None:
            return None
        return TokenRecord(
            data["training_job_name"],
            data["task_token"],
            data["run_id"],
            data.get("settled"),
            data.get("claimed_by"),
            "sent_at" in data,
            data.get("expected"),
        )

    def _update(self, job_name: str, **params: Any) -> None:
        with aws_call(f"UpdateItem {self.table}/{job_name}"):
            self.ddb.update_item(TableName=self.table, Key=self.key(job_name), **params)

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
