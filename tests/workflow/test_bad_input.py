"""Bad input at the entry points: nothing starts, nothing crashes silently, poison goes to the DLQ path.

A record that cannot be parsed is reported as a batch item failure (SQS redelivers it, then moves it to
the dead-letter queue after maxReceiveCount); a valid event that asks for nothing is dropped with the
reason in the logs.
"""

from __future__ import annotations

import io
import json

import pytest

from tests.workflow.harness import GOOD_CSV, Harness, model_config, sqs_event

POISON = {
    "non-json": "not json at all",
    "array": "[1, 2, 3]",
    "foreign-source": json.dumps(
        {"source": "aws.ec2", "detail-type": "EC2 Instance State-change", "detail": {}}
    ),
    "missing-fields": json.dumps(
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}
    ),
    "bad-model-name": json.dumps(
        {
            "source": "seam.manual",
            "detail-type": "Manual Retrain Requested",
            "id": "x",
            "time": "2026-11-22T00:00:00Z",
            "detail": {"model": "Not A Model!"},
        }
    ),
    "oversized": "x" * (256 * 1024 + 1),
}


def sagemaker_sample() -> dict:
    with open("events/sagemaker/training_completed.json") as sample:
        return json.load(sample)


@pytest.mark.parametrize("body", POISON.values(), ids=POISON.keys())
def test_malformed_trigger_bodies_fail_their_record_and_start_nothing(
    harness: Harness, body: str, logs: io.StringIO
) -> None:
    harness.onboard(model_config())
    batch = sqs_event(body, harness.object_created_event("datasets/churn/ok.csv", GOOD_CSV))

    result = harness.stack.invoke("TriggerFunction", batch)

    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert len(harness.executions()) == 1  # the good record in the same batch still started its run
    assert "rejected trigger message" in logs.getvalue() and "BadEventError" in logs.getvalue()


@pytest.mark.parametrize(
    ("key", "poison"),
    [
        ("datasets/unknown-model/x.csv", False),
        ("datasets/churn/../etc/passwd", True),
        ("other/churn/x.csv", True),
        ("datasets/churn/", True),
    ],
)
def test_objects_outside_a_models_dataset_prefix_start_nothing(
    harness: Harness, key: str, poison: bool, logs: io.StringIO
) -> None:
    """Unknown models are valid events that ask for nothing (dropped); malformed keys are poison."""
    harness.onboard(model_config())
    batch = sqs_event(
        harness.object_created_event(key, GOOD_CSV),
        harness.object_created_event("datasets/churn/ok.csv", GOOD_CSV),
    )

    result = harness.stack.invoke("TriggerFunction", batch)

    expected = [{"itemIdentifier": batch["Records"][0]["messageId"]}] if poison else []
    assert result == {"batchItemFailures": expected}
    assert len(harness.executions()) == 1  # only the good drop's run
    assert ("rejected trigger message" if poison else "maps to no model") in logs.getvalue()


def test_a_batch_of_only_poison_fails_the_invocation_so_sqs_retries_it(harness: Harness) -> None:
    """Powertools raises when every record fails: the whole batch returns to the queue (then the DLQ)."""
    with pytest.raises(RuntimeError, match="BatchProcessingError"):
        harness.stack.invoke("TriggerFunction", sqs_event("not json"))
    assert harness.executions() == []


def test_alarm_mapped_to_no_model_and_alarm_back_to_ok_are_logged_and_dropped(
    harness: Harness, logs: io.StringIO
) -> None:
    harness.onboard(model_config())
    result = harness.trigger(
        harness.alarm_event("someone-elses-alarm"), harness.alarm_event("churn-feature-drift", "OK")
    )
    assert result == {"batchItemFailures": []}
    assert harness.executions() == []
    assert "'someone-elses-alarm' is not a drift alarm of any onboarded model" in logs.getvalue()
    assert "moved to OK, not ALARM" in logs.getvalue()


def test_training_events_for_jobs_seam_did_not_start_are_ignored(harness: Harness) -> None:
    event = sagemaker_sample()
    event["detail"]["TrainingJobName"] = "someone-elses-job"
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(event)) == {"batchItemFailures": []}


def test_malformed_training_events_fail_their_record(harness: Harness, logs: io.StringIO) -> None:
    exploded = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Training Job State Change",
        "detail": {"TrainingJobName": "x", "TrainingJobStatus": "Exploded"},
    }
    batch = sqs_event("{}", json.dumps(exploded), sagemaker_sample())
    result = harness.stack.invoke("TrainingCallbackFunction", batch)
    assert result["batchItemFailures"] == [{"itemIdentifier": r["messageId"]} for r in batch["Records"][:2]]
    assert logs.getvalue().count("rejected training event message") == 2
