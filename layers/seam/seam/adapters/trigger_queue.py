"""SQS: the trigger queues a schedule tick's retrains back onto its own queue, one message per model."""

from __future__ import annotations

from typing import Any

from seam.adapters.aws import aws_call, client
from seam.errors import TransientError

SEND_BATCH_MAX = 10  # SendMessageBatch's limit per call


class TriggerQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    @property
    def sqs(self) -> Any:
        return client("sqs")

    def send(self, messages: list[tuple[str, int]]) -> None:
        """Send (body, delay seconds) pairs, 10 per SendMessageBatch. Entries SQS refuses raise
        TransientError naming them: the tick is redelivered and queues them again (duplicates of an
        already queued retrain map to the same run id, so they start nothing twice)."""
        for start in range(0, len(messages), SEND_BATCH_MAX):
            chunk = messages[start : start + SEND_BATCH_MAX]
            entries = [
                {"Id": str(n), "MessageBody": body, "DelaySeconds": delay}
                for n, (body, delay) in enumerate(chunk)
            ]
            with aws_call(f"SendMessageBatch {self.queue_url} ({len(entries)})"):
                failed = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get(
                    "Failed", []
                )
            if failed:
                reasons = ", ".join(f"{f.get('Code')}: {f.get('Message', '')}" for f in failed)
                raise TransientError(f"SendMessageBatch refused {len(failed)} of {len(entries)}: {reasons}")
