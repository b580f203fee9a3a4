"""SQS queues Seam sends its own messages to: the trigger queues a schedule tick's retrains back onto its
own queue, one message per model; the reconciler asks the training callback to check quiet trainings."""

from __future__ import annotations

from typing import Any

from seam.adapters.aws import aws_call, client
from seam.errors import TransientError

SEND_BATCH_MAX = 10  # SendMessageBatch's limit per call


class Queue:
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
            if refused := self.send_batch(chunk):
                reasons = ", ".join(refused.values())
                raise TransientError(f"SendMessageBatch refused {len(refused)} of {len(chunk)}: {reasons}")

    def send_batch(self, messages: list[tuple[str, int]]) -> dict[int, str]:
        """One SendMessageBatch of up to 10 (body, delay seconds) pairs; the entries SQS refused, by
        their index in `messages`, with its reason."""
        entries = [
            {"Id": str(n), "MessageBody": body, "DelaySeconds": delay}
            for n, (body, delay) in enumerate(messages)
        ]
        with aws_call(f"SendMessageBatch {self.queue_url} ({len(entries)})"):
            failed = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed", [])
        return {int(f["Id"]): f"{f.get('Code')}: {f.get('Message', '')}" for f in failed}
