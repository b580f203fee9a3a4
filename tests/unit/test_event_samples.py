"""The sample events in events/ keep the shapes AWS documents (see events/README.md for the sources)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
    SqsModel,
)
from seam_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ALL_JSON = sorted(EVENTS.rglob("*.json"))
SQS_SAMPLES = sorted((EVENTS / "sqs").glob("*.json"))
SAGEMAKER_SAMPLES = sorted((EVENTS / "sagemaker").glob("*.json"))

# The detail keys of the "Training job state change" example in the SageMaker developer guide
# ("Events that Amazon SageMaker AI sends to Amazon EventBridge"), in the documented order.
DOCUMENTED_TRAINING_DETAIL_KEYS = [
    "TrainingJobName",
    "TrainingJobArn",
    "TrainingJobStatus",
    "SecondaryStatus",
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "LastModifiedTime",
    "SecondaryStatusTransitions",
    "Tags",
]
ENVELOPE_KEYS = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
TRAINING_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _make_sqs_module():
    spec = importlib.util.spec_from_file_location("make_sqs_events", EVENTS / "make_sqs_events.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_expected_samples_exist():
    names = {p.relative_to(EVENTS).as_posix() for p in ALL_JSON}
    assert names == {
        "s3/object_created.json",
        "sagemaker/training_in_progress.json",
        "sagemaker/training_completed.json",
        "sagemaker/training_failed.json",
        "sagemaker/training_stopped.json",
        "cloudwatch/alarm_state_change_alarm.json",
        "cloudwatch/alarm_state_change_ok.json",
        "schedule/tick.json",
        "manual/retrain_requested.json",
        "registry/model_package_approved.json",
        "sqs/trigger_s3_object_created.json",
        "sqs/trigger_alarm.json",
        "sqs/trigger_schedule_tick.json",
        "sqs/trigger_manual.json",
        "sqs/callback_training_completed.json",
    }


@pytest.mark.parametrize("path", ALL_JSON, ids=lambda p: p.relative_to(EVENTS).as_posix())
def test_every_sample_is_a_json_object(path):
    assert isinstance(load(path), dict)


def test_s3_object_created_validates_with_powertools():
    event = S3EventNotificationEventBridgeModel.model_validate(load(EVENTS / "s3" / "object_created.json"))
    assert event.source == "aws.s3"
    assert event.detail_type == "Object Created"
    assert event.account == "123456789012" and event.region == "us-east-1"
    assert event.resources == ["arn:aws:s3:::seam-dev-data-123456789012"]
    assert event.detail.bucket.name == "seam-dev-data-123456789012"
    assert event.detail.object.key == "datasets/churn/2026-11-22/train.csv"
    assert event.detail.reason == "PutObject"
    raw = load(EVENTS / "s3" / "object_created.json")
    assert list(raw) == ENVELOPE_KEYS
    assert set(raw["detail"]["object"]) == {"key", "size", "etag", "version-id", "sequencer"}
    assert {"request-id", "requester", "source-ip-address", "reason"} <= set(raw["detail"])


@pytest.mark.parametrize("path", SAGEMAKER_SAMPLES, ids=lambda p: p.name)
def test_training_state_change_has_the_documented_shape(path):
    raw = load(path)
    EventBridgeModel.model_validate(raw)
    assert list(raw) == ENVELOPE_KEYS
    assert raw["source"] == "aws.sagemaker"
    assert raw["detail-type"] == "SageMaker Training Job State Change"
    detail = raw["detail"]
    status = detail["TrainingJobStatus"]
    assert status in {"InProgress", "Completed", "Failed", "Stopping", "Stopped"}
    expected = list(DOCUMENTED_TRAINING_DETAIL_KEYS)
    if status == "Failed":  # "If the value of TrainingJobStatus is Failed, the event contains FailureReason"
        expected.insert(expected.index("SecondaryStatus") + 1, "FailureReason")
    if status == "InProgress":  # TrainingEndTime is only set once the job is terminal (API reference)
        expected.remove("TrainingEndTime")
    assert list(detail) == expected
    # The event is a hint: no final metrics, no model artifact location.
    assert "FinalMetricDataList" not in detail and "ModelArtifacts" not in detail
    name = detail["TrainingJobName"]
    assert TRAINING_JOB_NAME.match(name) and name.startswith("seam-dev-churn-")
    assert detail["TrainingJobArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    assert raw["resources"] == [detail["TrainingJobArn"]]
    assert all(isinstance(v, str) for v in detail["HyperParameters"].values())
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        if key in detail:
            assert re.fullmatch(r"\d{13}", detail[key]), key  # epoch milliseconds as a string, as documented


@pytest.mark.parametrize(
    ("name", "previous", "current"),
    [("alarm_state_change_alarm.json", "OK", "ALARM"), ("alarm_state_change_ok.json", "ALARM", "OK")],
)
def test_alarm_state_change(name, previous, current):
    raw = load(EVENTS / "cloudwatch" / name)
    EventBridgeModel.model_validate(raw)
    assert list(raw) == ENVELOPE_KEYS
    assert raw["source"] == "aws.cloudwatch" and raw["detail-type"] == "CloudWatch Alarm State Change"
    detail = raw["detail"]
    assert detail["alarmName"] == "churn-feature-drift"
    assert raw["resources"] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-feature-drift"]
    assert detail["previousState"]["value"] == previous and detail["state"]["value"] == current
    assert "metricStat" in detail["configuration"]["metrics"][0]  # a single-metric alarm
    for state in (detail["state"], detail["previousState"]):
        assert set(state) == {"reason", "reasonData", "timestamp", "value"}
        json.loads(state["reasonData"])  # reasonData is a JSON document in a string


def test_schedule_tick_is_the_schedule_input_with_context_attributes_filled():
    raw = load(EVENTS / "schedule" / "tick.json")
    assert list(raw) == ["source", "detail-type", "time", "id"]
    assert raw["source"] == "seam.schedule" and raw["detail-type"] == "Scheduled Retrain Tick"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", raw["time"])  # <aws.scheduler.scheduled-time>
    assert "<aws.scheduler" not in json.dumps(raw)


def test_manual_request():
    raw = load(EVENTS / "manual" / "retrain_requested.json")
    assert list(raw) == ["source", "detail-type", "id", "time", "detail"]
    assert raw["source"] == "seam.manual" and raw["detail-type"] == "Manual Retrain Requested"
    assert raw["detail"] == {"model": "churn", "requested_by": "alice", "reason": "new features"}


@pytest.mark.parametrize("path", SQS_SAMPLES, ids=lambda p: p.name)
def test_sqs_samples_wrap_the_source_samples(path):
    module = _make_sqs_module()
    source, queue_arn, _sender, _write_body = module.WRAPPED[path.name]
    event = SqsModel.model_validate(load(path))
    assert len(event.Records) == 1
    record = event.Records[0]
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == queue_arn
    assert record.awsRegion == "us-east-1"
    assert json.loads(record.body) == load(EVENTS / source)
    assert record.md5OfBody == hashlib.md5(record.body.encode("utf-8")).hexdigest()
    raw_record = load(path)["Records"][0]
    assert set(raw_record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }


def test_schedule_tick_body_is_the_template_input_filled_in():
    """Scheduler sends the Input text as is: the sample's body must be template.yaml's Input, substituted."""
    template_input = load_template()["Resources"]["RetrainSchedule"]["Properties"]["Target"]["Input"]
    for placeholder in ("<aws.scheduler.scheduled-time>", "<aws.scheduler.execution-id>"):
        assert placeholder in template_input
    tick = load(EVENTS / "schedule" / "tick.json")
    expected = template_input.replace("<aws.scheduler.scheduled-time>", tick["time"]).replace(
        "<aws.scheduler.execution-id>", tick["id"]
    )
    body = load(EVENTS / "sqs" / "trigger_schedule_tick.json")["Records"][0]["body"]
    assert body == expected


def test_sqs_samples_are_up_to_date():
    rendered = _make_sqs_module().render()
    assert sorted(rendered) == [p.name for p in SQS_SAMPLES]
    for name, text in rendered.items():
        assert (EVENTS / "sqs" / name).read_text(encoding="utf-8") == text, (
            f"events/sqs/{name} is stale: run python events/make_sqs_events.py"
        )


def test_s3_sample_describes_the_example_dataset():
    """The sample announces examples/churn/data/good.csv (single-part PutObject: etag = MD5 of the bytes)."""
    data = (ROOT / "examples" / "churn" / "data" / "good.csv").read_bytes()
    obj = load(EVENTS / "s3" / "object_created.json")["detail"]["object"]
    assert obj["size"] == len(data)
    assert obj["etag"] == hashlib.md5(data).hexdigest()


def test_model_package_approval_maps_to_the_deploy_run_of_its_change():
    """The registry's approval change parses (the trigger's model) and names its run by the package
    ARN and the change's time, whatever the envelope's time says."""
    from seam.domain.deploy_runs import approval_request, model_of_group
    from seam.models.events import parse_trigger_body

    text = (EVENTS / "registry" / "model_package_approved.json").read_text()
    event = parse_trigger_body(text)
    detail = event.detail  # type: ignore[union-attr]
    assert (detail.ModelApprovalStatus, detail.ModelPackageVersion) == ("Approved", 3)
    assert model_of_group(detail.ModelPackageGroupName, "seam-dev-") == "churn"
    request = approval_request(
        "test", "churn", "000003", detail.ModelPackageArn, detail.changed_at, event.time
    )  # type: ignore[union-attr]
    assert request.intent == f"approval|{detail.ModelPackageArn}|2026-11-22T10:15:02.845+00:00"
    assert request.deploy and request.deploy.version == "000003"
