"""Wrap the source samples as Lambda receives them from SQS (events/sqs/*.json).

    python events/make_sqs_events.py           # rewrite events/sqs/
    python events/make_sqs_events.py --check   # exit 1 if events/sqs/ is out of date

Each output is an SQS event with one record whose `body` is the source message as the sender puts it on
the queue: EventBridge rule targets deliver the event as compact JSON text, Scheduler sends the
schedule's Input text (template.yaml RetrainSchedule) with its context attributes filled in, the CLI sends
compact JSON. `md5OfBody` is the real MD5 of the body's UTF-8 bytes. Record fields follow the Lambda
developer guide's SQS example event; message ids and receipt handles are derived from the file name, so
regenerating is byte-for-byte stable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
# The template gives the queues no QueueName, so CloudFormation names them <stack>-<LogicalId>-<suffix>.
TRIGGER_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:seam-dev-TriggerQueue-7KQ2XH4M9P1B"
CALLBACK_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:seam-dev-CallbackQueue-3TJ8WD5N2R6C"
_IDS = uuid.UUID("5e4d0c1a-7b2f-4c3e-9a8d-1f0e2d3c4b5a")

# Illustrative SenderIds: the IAM principal id of whoever called SendMessage (AIDA... for a user,
# AROA...:session for an assumed role such as the schedule's execution role).
SENDER_EVENTBRIDGE = "AIDAJ2EXAMPLEEVENTBRIDGE"
SENDER_SCHEDULER = "AROAEXAMPLESCHEDULERROLE:6f1c2b9d8e7a4c3b"
SENDER_CLI = "AIDAEXAMPLEALICE0001"


def compact(message: dict[str, Any]) -> str:
    """EventBridge puts the event on an SQS target as compact JSON text (no whitespace)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def schedule_input(message: dict[str, Any]) -> str:
    """Scheduler sends the schedule's Input text verbatim, context attributes substituted: the template's
    Input is written with `", "` / `": "` separators, which is json.dumps' default layout."""
    return json.dumps(message, ensure_ascii=False)


# output file -> (source sample, queue ARN, SenderId, how the sender writes the body)
WRAPPED: dict[str, tuple[str, str, str, Callable[[dict[str, Any]], str]]] = {
    "trigger_s3_object_created.json": ("s3/object_created.json", TRIGGER_QUEUE, SENDER_EVENTBRIDGE, compact),
    "trigger_alarm.json": (
        "cloudwatch/alarm_state_change_alarm.json",
        TRIGGER_QUEUE,
        SENDER_EVENTBRIDGE,
        compact,
    ),
    "trigger_schedule_tick.json": ("schedule/tick.json", TRIGGER_QUEUE, SENDER_SCHEDULER, schedule_input),
    "trigger_manual.json": ("manual/retrain_requested.json", TRIGGER_QUEUE, SENDER_CLI, compact),
    "callback_training_completed.json": (
        "sagemaker/training_completed.json",
        CALLBACK_QUEUE,
        SENDER_EVENTBRIDGE,
        compact,
    ),
}


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def sqs_event(name: str, body: str, queue_arn: str, sender_id: str) -> dict[str, Any]:
    message = json.loads(body)
    sent = _epoch_ms(message["time"]) + 412  # on the queue shortly after the event time
    digest = hashlib.sha256(name.encode()).digest()
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid5(_IDS, name)),
                "receiptHandle": "AQEB" + base64.b64encode(digest * 3).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(sent),
                    "SenderId": sender_id,
                    "ApproximateFirstReceiveTimestamp": str(sent + 23),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }


def render() -> dict[str, str]:
    """events/sqs/<file> -> its JSON text."""
    out: dict[str, str] = {}
    for name, (source, queue_arn, sender_id, write_body) in WRAPPED.items():
        body = write_body(json.loads((EVENTS / source).read_text(encoding="utf-8")))
        out[name] = json.dumps(sqs_event(name, body, queue_arn, sender_id), indent=2) + "\n"
    return out


def main(argv: list[str]) -> int:
    target = EVENTS / "sqs"
    rendered = render()
    if "--check" in argv:
        stale = [
            n
            for n, text in rendered.items()
            if not (target / n).is_file() or (target / n).read_text() != text
        ]
        for name in stale:
            print(f"events/sqs/{name} is out of date: run python events/make_sqs_events.py", file=sys.stderr)
        return 1 if stale else 0
    target.mkdir(exist_ok=True)
    for name, text in rendered.items():
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote events/sqs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
