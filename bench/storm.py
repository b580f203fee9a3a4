"""Event storm: 10,000 S3 Object Created events for 100 models in one burst through the trigger path.

The events go into the template's TriggerQueue (EventBridge's SQS target) in one burst; one trigger
"process" drains it the way Lambda's SQS poller does: receive up to `batch_size` messages, invoke the
real handler with the SQS event, delete what succeeded. AWS is moto, in this process; Step Functions
only records StartExecution (the workflows themselves are not the subject here).

Figures: `storm_runs_started` (executions started; one per model is right), `storm_pending` (models
holding a pending retrain: at most one each), `storm_drain_s` (first receive to empty queue, SQS
calls included) and `storm_events_per_s` (events / time inside the handler: the throughput of one
trigger process, what Lambda concurrency multiplies).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto import mock_aws

STORM_LOG = io.StringIO()
EXAMPLE_MODEL = Path(__file__).resolve().parents[1] / "examples" / "churn" / "model.yaml"
# The trigger's logs and metrics go to a buffer: writing them is part of the cost, printing is not.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    # As the template sets them: metrics are flushed (to the buffer below) after every batch.
    "POWERTOOLS_SERVICE_NAME": "seam",
    "POWERTOOLS_METRICS_NAMESPACE": "Seam",
}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def object_created(bucket: str, model: str, drop: int, sequencer: int) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge delivers it (one new dataset object)."""
    key = f"datasets/{model}/drop-{drop:05d}.csv"
    return {
        "version": "0",
        "id": str(uuid.UUID(int=random.getrandbits(128))),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-22T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 1024, "etag": f"{drop:032x}", "sequencer": f"{sequencer:018X}"},
            "request-id": "REQ",
            "requester": "123456789012",
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        },
    }


def storm_model(name: str) -> Any:
    """The churn example's config under another name (the trigger only reads the model's existence)."""
    import yaml
    from seam.models.model_config import ModelConfig

    data = yaml.safe_load(EXAMPLE_MODEL.read_text())
    data.update(name=name, data_prefix=f"datasets/{name}/")
    data["serving"] = {**data["serving"], "deployment": f"{name}-predictor"}
    return ModelConfig.model_validate(data)


def _sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


@dataclass
class Drained:
    handled: int = 0
    failed: int = 0  # records the handler reported failed (left for redelivery)
    batches: int = 0
    in_handler: float = 0.0
    seconds: float = 0.0


def _drain(sqs: Any, queue_url: str, queue_arn: str, batch_size: int, invoke: Any) -> Drained:
    """Empty the queue the way Lambda's SQS poller does, one batch at a time; failed records stay
    invisible (they would be redelivered after the visibility timeout) and are counted."""
    drained = Drained()
    started = time.perf_counter()
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=batch_size, VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            break
        called = time.perf_counter()
        payload, errored = invoke(_sqs_event(messages, queue_arn))
        drained.in_handler += time.perf_counter() - called
        if errored:
            raise RuntimeError(f"trigger failed on a storm batch: {payload}")
        failures = {f["itemIdentifier"] for f in json.loads(payload)["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failures]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
        drained.handled += len(done)
        drained.failed += len(failures)
        drained.batches += 1
    drained.seconds = time.perf_counter() - started
    return drained


def run(events: int = 10_000, models: int = 100, batch_size: int = 10, seed: int = 6) -> dict[str, Any]:
    with _environment(ENVIRONMENT):  # Powertools reads it when seam.observability is first imported
        return _run(events, models, batch_size, seed)


def _run(events: int, models: int, batch_size: int, seed: int) -> dict[str, Any]:
    from seam.adapters.aws import add_client_hook, reset_clients
    from seam.dependencies import dependencies, reset_dependencies
    from seam.observability import logger
    from seam_local.moto_hooks import install_lambda_runtime
    from seam_local.stack import EmulatedStack
    from seam_local.template import StackTemplate

    random.seed(seed)
    with mock_aws():
        stack = EmulatedStack(StackTemplate(stage="bench", parameters={"AllowedClusters": "seam-local"}))
        with _environment(stack.environment), install_lambda_runtime(stack.runtime):
            reset_clients()
            reset_dependencies()
            stack.deploy()
            deps = dependencies()
            calls: Counter[str] = Counter()  # Seam's own AWS calls (the trigger's), by operation

            def count(client: Any) -> None:
                client.meta.events.register(
                    "before-call", lambda model, **_: calls.update([model.name]) if counting else None
                )

            counting = False
            add_client_hook(count)
            names = [f"storm-{i:03d}" for i in range(models)]
            for name in names:
                deps.models.put(storm_model(name))

            bodies = [
                json.dumps(object_created(deps.settings.data_bucket, names[i % models], i // models, i))
                for i in range(events)
            ]
            random.shuffle(bodies)
            sqs = stack.client("sqs")
            queue_url = stack.queue_url("TriggerQueue")
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            for start in range(0, len(bodies), 10):  # the burst: SendMessageBatch takes 10 at most
                sqs.send_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[start : start + 10])
                    ],
                )

            function = stack.functions["TriggerFunction"]
            arn = stack.client("lambda").get_function(FunctionName=function.name)["Configuration"][
                "FunctionArn"
            ]

            class _Fn:  # what the in-process Lambda runtime reads from a function
                function_name = function.name
                function_arn = arn

            log = io.StringIO()
            previous_stream = logger.registered_handler.setStream(log)
            try:
                counting = True
                with contextlib.redirect_stdout(log):
                    drained = _drain(
                        sqs, queue_url, queue_arn, batch_size, lambda e: stack.runtime.invoke(_Fn, e)
                    )
            finally:
                counting = False
                logger.registered_handler.setStream(previous_stream)
                STORM_LOG.write(log.getvalue())

            sfn = stack.client("stepfunctions")
            started_runs = sum(
                len(page["executions"])
                for page in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=stack.state_machine_arn
                )
            )
            locks = [deps.locks.get(name) for name in names]
            pending = sum(1 for lock in locks if lock and lock.get("pending"))
            held = sum(1 for lock in locks if lock and lock.get("holder"))
            reset_dependencies()
            reset_clients()
    return {
        "storm_events": events,
        "storm_models": models,
        "storm_batch_size": batch_size,
        "storm_events_handled": drained.handled,
        "storm_events_failed": drained.failed,
        "storm_runs_started": started_runs,
        "storm_locks_held": held,
        "storm_pending": pending,
        "storm_drain_s": round(drained.seconds, 2),
        "storm_handler_s": round(drained.in_handler, 2),
        "storm_events_per_s": round(drained.handled / drained.in_handler, 1),
        "storm_batches": drained.batches,
        "storm_aws_calls_per_event": round(sum(calls.values()) / events, 3),
        "storm_aws_calls": dict(sorted(calls.items())),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
