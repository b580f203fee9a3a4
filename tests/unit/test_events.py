"""Parsing trigger and training bodies (the samples in events/), and mapping object keys to models."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from seam.errors import BadEventError
from seam.models.events import (
    AlarmStateChangeEvent,
    ManualRequest,
    ScheduleTick,
    model_from_dataset_key,
    parse_trigger_body,
)
from seam.models.message_body import MAX_BODY_BYTES
from seam.models.training_events import TrainingStateChangeEvent, parse_training_body

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample(path: str) -> dict[str, Any]:
    return json.loads((EVENTS / path).read_text())


def body(path: str, **changes: Any) -> str:
    return json.dumps({**sample(path), **changes})


def bad(text: str) -> str:
    with pytest.raises(BadEventError) as caught:
        parse_trigger_body(text)
    return str(caught.value)


# -- trigger bodies ------------------------------------------------------------------------------------


def test_an_s3_object_created_body_parses_with_the_powertools_model() -> None:
    event = parse_trigger_body(body("s3/object_created.json"))

    assert isinstance(event, S3EventNotificationEventBridgeModel)
    assert event.detail.bucket.name == "seam-dev-data-123456789012"
    assert event.detail.object.key == "datasets/churn/2026-11-22/train.csv"
    assert event.detail.object.version_id == "Kq3dW8rT1vXy0pLm5NsB7aZcE2uH4fJg"
    assert event.detail.object.size == 48177


@pytest.mark.parametrize(
    ("path", "state", "previous"),
    [
        ("cloudwatch/alarm_state_change_alarm.json", "ALARM", "OK"),
        ("cloudwatch/alarm_state_change_ok.json", "OK", "ALARM"),
    ],
)
def test_an_alarm_state_change_body_parses_with_both_states(path: str, state: str, previous: str) -> None:
    event = parse_trigger_body(body(path))

    assert isinstance(event, AlarmStateChangeEvent)
    assert event.detail.alarmName == "churn-feature-drift"
    assert event.detail.state.value == state
    assert event.detail.previousState is not None
    assert event.detail.previousState.value == previous
    assert event.detail.state.timestamp.tzinfo is not None


def test_a_schedule_tick_body_parses() -> None:
    event = parse_trigger_body(body("schedule/tick.json"))

    assert isinstance(event, ScheduleTick)
    assert event.time.isoformat() == "2026-11-22T09:15:00+00:00"
    assert event.id == "a7c2f9k1d4e8b3m6"


def test_a_manual_request_body_parses_with_who_and_why() -> None:
    event = parse_trigger_body(body("manual/retrain_requested.json"))

    assert isinstance(event, ManualRequest)
    assert (event.detail.model, event.detail.requested_by, event.detail.reason) == (
        "churn",
        "alice",
        "new features",
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("sagemaker/training_completed.json", "Completed"),
        ("sagemaker/training_failed.json", "Failed"),
        ("sagemaker/training_in_progress.json", "InProgress"),
        ("sagemaker/training_stopped.json", "Stopped"),
    ],
)
def test_training_state_change_bodies_parse(path: str, status: str) -> None:
    event = parse_training_body(body(path))

    assert isinstance(event, TrainingStateChangeEvent)
    assert event.detail.TrainingJobStatus == status
    assert event.detail.TrainingJobName == sample(path)["detail"]["TrainingJobName"]


@pytest.mark.parametrize(
    "text",
    [
        json.loads(sample("sqs/trigger_s3_object_created.json")["Records"][0]["body"]),
        json.loads(sample("sqs/trigger_manual.json")["Records"][0]["body"]),
    ],
)
def test_the_bodies_of_the_sqs_samples_parse(text: dict[str, Any]) -> None:
    assert parse_trigger_body(json.dumps(text)).source in ("aws.s3", "seam.manual")


def test_each_sources_models_are_named_where_the_package_finds_them() -> None:
    import importlib
    import inspect

    from pydantic import BaseModel
    from seam.models import events

    for module_name, names in events._MODULES.items():
        module = importlib.import_module(module_name)
        defined = {
            name
            for name, value in vars(module).items()
            if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module_name
        }
        assert defined == set(names), module_name
        assert all(getattr(events, name) is getattr(module, name) for name in names)
    for source, (module_name, name) in events._TRIGGER_MODELS.items():
        model = events.trigger_model(source)
        assert model is not None and model.__name__ == name and model.__module__ == module_name, source
        if source != "aws.s3":  # Powertools' S3 model takes any source string
            assert get_args(model.model_fields["source"].annotation) == (source,)


# -- rejections ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["not json", "{", "", '{"source": "seam.manual",}'])
def test_a_body_that_is_not_json_is_rejected(text: str) -> None:
    assert bad(text).startswith("message body is not JSON")


@pytest.mark.parametrize(
    ("text", "kind"), [("[]", "list"), ('"x"', "str"), ("42", "int"), ("null", "NoneType")]
)
def test_a_json_body_that_is_not_an_object_is_rejected(text: str, kind: str) -> None:
    assert bad(text) == f"message body is a JSON {kind}, not an object"


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        ({"source": "aws.ec2", "detail": {}}, "'aws.ec2'"),
        ({"detail": {}}, "'None'"),
        ({"source": 7}, "'7'"),
    ],
)
def test_a_body_from_an_unknown_source_is_rejected_naming_it(payload: dict[str, Any], shown: str) -> None:
    assert bad(json.dumps(payload)) == f"unsupported event source {shown} on the trigger queue"


def test_a_training_event_on_the_trigger_queue_is_not_a_registry_change() -> None:
    """aws.sagemaker on the trigger's queues is a model package change; training events belong to the
    callback queue and are refused as what they are not."""
    training = json.loads((EVENTS / "sagemaker" / "training_completed.json").read_text())
    assert bad(json.dumps(training)).startswith("invalid aws.sagemaker event: detail-type: Input should be")


def test_an_unknown_source_is_truncated_in_the_message() -> None:
    assert "x" * 65 not in bad(json.dumps({"source": "x" * 5000}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            json.dumps({k: v for k, v in sample("manual/retrain_requested.json").items() if k != "detail"}),
            "invalid seam.manual event: detail: Field required",
        ),
        (
            body("manual/retrain_requested.json", detail={"reason": "x"}),
            "invalid seam.manual event: detail.model: Field required",
        ),
        (
            body("manual/retrain_requested.json", detail={"model": "Churn!"}),
            "invalid seam.manual event: detail.model: String should match pattern",
        ),
        (
            body("schedule/tick.json", time="yesterday"),
            "invalid seam.schedule event: time:",
        ),
        (
            json.dumps({**sample("s3/object_created.json"), "detail": {"bucket": {"name": "b"}}}),
            "invalid aws.s3 event: detail.",
        ),
        (
            body(
                "cloudwatch/alarm_state_change_alarm.json",
                detail={"alarmName": "a", "state": {"value": "BROKEN", "timestamp": "2026-11-22T08:05:40Z"}},
            ),
            "invalid aws.cloudwatch event: detail.state.value:",
        ),
    ],
)
def test_a_body_missing_or_breaking_fields_is_rejected_with_the_field(text: str, expected: str) -> None:
    message = bad(text)
    assert message.startswith(expected)
    assert "problem(s)" in message


def test_a_body_over_256_kb_is_rejected_before_parsing() -> None:
    text = json.dumps({"source": "seam.manual", "pad": "x" * MAX_BODY_BYTES})
    assert bad(text) == f"message body is {len(text)} bytes, over the {MAX_BODY_BYTES} limit"


def test_the_size_limit_counts_utf8_bytes_and_is_inclusive() -> None:
    at_limit = "é" * (MAX_BODY_BYTES // 2)  # 2 bytes each: exactly at the limit, so it is parsed
    assert bad(at_limit).startswith("message body is not JSON")
    assert bad(at_limit + "x").startswith(f"message body is {MAX_BODY_BYTES + 1} bytes")


def test_a_training_body_from_another_source_is_rejected() -> None:
    with pytest.raises(BadEventError, match="invalid training state change: source:"):
        parse_training_body(body("s3/object_created.json"))


def test_the_reconcilers_check_round_trips_through_the_training_body_parser() -> None:
    from seam.models.training_check import TrainingCheck

    text = TrainingCheck.body("seam-churn-0123456789ab")
    check = parse_training_body(text)

    assert json.loads(text) == {
        "source": "seam.reconciler",
        "detail-type": "Training Check Requested",
        "detail": {"TrainingJobName": "seam-churn-0123456789ab"},
    }
    assert isinstance(check, TrainingCheck) and check.detail.TrainingJobName == "seam-churn-0123456789ab"
    assert check.hint == "check"
    assert text == check.model_dump_json(by_alias=True)  # the bytes the model itself writes


def test_the_reconciler_writes_no_check_for_a_name_that_is_not_a_training_jobs() -> None:
    from seam.models.training_check import TrainingCheck

    for name in ("", "-starts-with-a-dash", "has_underscore", "x" * 64, "trailing-newline\n"):
        with pytest.raises(ValueError, match="is not a training job name"):
            TrainingCheck.body(name)
    assert TrainingCheck.body("x" * 63)  # the longest name SageMaker accepts


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"detail": {}}, "detail.TrainingJobName: Field required"),
        ({"detail": {"TrainingJobName": "seam-x", "Status": "x"}}, "detail.Status: Extra inputs"),
        ({"detail": {"TrainingJobName": "seam-../x"}}, "detail.TrainingJobName: String should match"),
        ({"detail": {"TrainingJobName": "a" * 64}}, "detail.TrainingJobName: String should match"),
        ({"detail-type": "Other"}, "detail-type: Input should be 'Training Check Requested'"),
        ({"run": "seam-x"}, "run: Extra inputs"),
    ],
)
def test_a_malformed_check_is_rejected_with_the_field(change: dict[str, Any], expected: str) -> None:
    check = {
        "source": "seam.reconciler",
        "detail-type": "Training Check Requested",
        "detail": {"TrainingJobName": "seam-churn-0123456789ab"},
    }
    with pytest.raises(BadEventError, match=f"invalid training check: {re.escape(expected)}"):
        parse_training_body(json.dumps({**check, **change}))


def test_a_training_body_with_an_unknown_status_is_rejected() -> None:
    event = sample("sagemaker/training_completed.json")
    event["detail"]["TrainingJobStatus"] = "Exploded"
    with pytest.raises(BadEventError, match=r"detail\.TrainingJobStatus"):
        parse_training_body(json.dumps(event))


# -- object keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "model"),
    [
        ("datasets/churn/x.csv", "churn"),
        ("datasets/churn/2026-11-22/train.csv", "churn"),
        ("datasets/churn-v2/part-0001.parquet", "churn-v2"),
        ("datasets/ab/x", "ab"),
    ],
)
def test_keys_under_datasets_slash_model_map_to_the_model(key: str, model: str) -> None:
    assert model_from_dataset_key(key) == model


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("churn/x.csv", "is not under datasets/<model>/"),
        ("models/churn/x.csv", "is not under datasets/<model>/"),
        ("/datasets/churn/x.csv", "is not under datasets/<model>/"),
        ("datasets/churn", "is not under datasets/<model>/"),
        ("datasets/churn/", "is not under datasets/<model>/"),
        ("datasets//x.csv", "is not under datasets/<model>/"),
        ("datasets/x.csv", "is not under datasets/<model>/"),
        ("datasets/churn/../other/x.csv", "has an empty, '.' or '..' path segment"),
        ("datasets/churn/..", "has an empty, '.' or '..' path segment"),
        ("datasets/churn/./x.csv", "has an empty, '.' or '..' path segment"),
        ("datasets/churn//x.csv", "has an empty, '.' or '..' path segment"),
        ("datasets/churn/2026/", "has an empty, '.' or '..' path segment"),
        ("datasets/../churn/x.csv", "is not a valid model name"),
        ("datasets/./x.csv", "is not a valid model name"),
        ("datasets/Churn/x.csv", "is not a valid model name"),
        ("datasets/c/x.csv", "is not a valid model name"),
        ("datasets/churn_v2/x.csv", "is not a valid model name"),
        ("datasets/" + "a" * 41 + "/x.csv", "is not a valid model name"),
    ],
)
def test_keys_outside_datasets_or_with_bad_segments_or_names_are_rejected(key: str, reason: str) -> None:
    with pytest.raises(BadEventError) as caught:
        model_from_dataset_key(key)
    assert reason in str(caught.value)


@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\x9f"])
def test_keys_with_control_characters_are_rejected(char: str) -> None:
    with pytest.raises(BadEventError, match="object key contains control characters"):
        model_from_dataset_key(f"datasets/churn/x{char}y.csv")


def test_a_rejected_key_is_truncated_in_the_message() -> None:
    with pytest.raises(BadEventError) as caught:
        model_from_dataset_key("elsewhere/" + "k" * 5000)
    assert len(str(caught.value)) < 300
