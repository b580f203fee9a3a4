"""The local runtime's parts: local SageMaker training jobs, the SQS event source poller, EventBridge
delivery to SQS targets (moto in decorator mode, everything on 127.0.0.1 and bounded)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import seam
import yaml
from moto import mock_aws
from seam.domain.training import training_job_request
from seam.models.events import parse_trigger_body
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, Snapshot
from seam.models.training_events import parse_training_body
from seam_local import wiring
from seam_local.eks import LocalEks
from seam_local.images import ImageNotFound, ImageResolver, image_dirs, repository
from seam_local.moto_hooks import install_event_sources, install_training_runner
from seam_local.pollers import (
    EventSourceMapping,
    FunctionError,
    ScheduleTicker,
    SqsPoller,
    rate_seconds,
)
from seam_local.sagemaker import LocalSageMaker
from seam_local.stack import EmulatedStack
from seam_local.template import REPO_ROOT, StackTemplate

EXAMPLE = REPO_ROOT / "examples" / "churn"
FEATURES = (EXAMPLE / "data" / "good.csv").read_text().split("\n", 1)[0].split(",")[:-1]
BUCKET = "seam-test-data"
ROLE = "arn:aws:iam::123456789012:role/seam-training"


def ecr(repo: str) -> str:
    return f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{repo}@sha256:" + "c" * 64


def poll(check: Callable[[], Any], timeout: float = 30, message: str = "condition not met") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(message)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


# -- local SageMaker ------------------------------------------------------------------------------------


@pytest.fixture
def sagemaker(aws: None, tmp_path: Path) -> Iterator[tuple[LocalSageMaker, list[dict[str, Any]]]]:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    events: list[dict[str, Any]] = []
    images = ImageResolver(overrides={"sleeper": _sleeper_image(tmp_path / "sleeper")})
    runner = LocalSageMaker(work_root=tmp_path / "work", on_event=events.append, images=images)
    with install_training_runner(runner):
        yield runner, events
        runner.shutdown()


def _sleeper_image(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(
        'FROM python:3.13-slim\nENTRYPOINT ["python", "-c", '
        "\"import time; print('validation:auc=0.5', flush=True); time.sleep(60)\"]\n"
    )
    return folder


def churn_config(**training: Any) -> ModelConfig:
    data = yaml.safe_load((EXAMPLE / "model.yaml").read_text())
    data["training"].update(training)
    return ModelConfig.model_validate(data)


def start_job(name: str, data: str, config: ModelConfig | None = None, **overrides: Any) -> dict[str, Any]:
    key = f"runs/{name}/train/{name}.csv"  # Validate's snapshot of the validated bytes
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=(EXAMPLE / "data" / data).read_bytes())
    request = training_job_request(
        config or churn_config(),
        name,
        Snapshot(
            source=DatasetRef(bucket=BUCKET, key=f"datasets/churn/{name}.csv"),
            train_uri=f"s3://{BUCKET}/{key}",
        ),
        ROLE,
        f"s3://{BUCKET}/models/churn/{name}/",
        "test",
    )
    request.update(overrides)
    boto3.client("sagemaker").create_training_job(**request)
    return request


def wait_job(name: str, timeout: float = 30) -> dict[str, Any]:
    sm = boto3.client("sagemaker")
    return poll(
        lambda: (
            (d := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"]
            in ("Completed", "Failed", "Stopped")
            and d
        ),
        timeout,
        f"training job {name} did not end",
    )


def test_image_dirs_point_a_repository_at_a_folder_and_a_missing_one_names_the_flag(tmp_path: Path) -> None:
    own = _sleeper_image(tmp_path / "own")
    resolver = ImageResolver(overrides=image_dirs([f"fraud={own}"]))

    assert resolver.resolve(ecr("fraud")).folder == own
    with pytest.raises(ImageNotFound, match=r"give one with `seam local up --image-dir ghost=PATH`"):
        resolver.resolve(ecr("ghost"))
    with pytest.raises(ValueError, match="is not REPOSITORY=PATH"):
        image_dirs([str(own)])
    with pytest.raises(ValueError, match="has no Dockerfile"):
        image_dirs([f"fraud={tmp_path}"])


def test_image_repository_names() -> None:
    assert repository("123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "a" * 64) == "churn"
    assert repository("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/churn:v1") == "churn"
    assert repository("churn:latest") == "churn"
    image = ImageResolver().resolve("123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:v1")
    assert image.folder == EXAMPLE / "image"
    assert image.command(["train"])[1:] == ["-m", "churn_model", "train"]


def test_completed_job_has_parsed_metrics_and_model_artifact(sagemaker: Any) -> None:
    _, events = sagemaker
    start_job("seam-churn-good", "good.csv")
    assert boto3.client("sagemaker").describe_training_job(TrainingJobName="seam-churn-good")[
        "TrainingJobStatus"
    ] in ("InProgress", "Completed")

    job = wait_job("seam-churn-good")

    assert job["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics == {"validation:auc": 0.8776, "validation:accuracy": 0.8125}  # model.yaml's definitions
    assert job["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation:auc"
    assert job["BillableTimeInSeconds"] >= 1
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"][5:].split("/", 1)
    assert key == "models/churn/seam-churn-good/seam-churn-good/output/model.tar.gz"
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert {"model.joblib", "metadata.json"} <= set(archive.getnames())
    assert [e["detail"]["TrainingJobStatus"] for e in events] == ["InProgress", "Completed"]
    assert events[-1]["detail-type"] == "SageMaker Training Job State Change"
    assert events[-1]["detail"]["TrainingJobName"] == "seam-churn-good"


def test_a_duplicate_job_name_is_refused(sagemaker: Any) -> None:
    request = start_job("seam-churn-dup", "good.csv")
    with pytest.raises(boto3.client("sagemaker").exceptions.ResourceInUse):
        boto3.client("sagemaker").create_training_job(**request)
    wait_job("seam-churn-dup")


def test_failed_job_reports_output_failure(sagemaker: Any) -> None:
    _, events = sagemaker
    start_job("seam-churn-corrupt", "corrupt.csv")

    job = wait_job("seam-churn-corrupt")

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")
    assert "churned" in job["FailureReason"]
    assert [e["detail"]["TrainingJobStatus"] for e in events] == ["InProgress", "Failed"]
    assert events[-1]["detail"]["FailureReason"] == job["FailureReason"]


def test_unknown_image_fails_the_job(sagemaker: Any) -> None:
    start_job("seam-nothing", "good.csv", churn_config(image=ecr("nope")))
    job = wait_job("seam-nothing")
    assert job["TrainingJobStatus"] == "Failed"
    assert "no local image folder for repository 'nope'" in job["FailureReason"]


def test_stop_training_job_kills_the_process(sagemaker: Any) -> None:
    runner, events = sagemaker
    sleeper = ecr("sleeper")
    start_job("seam-sleeper", "good.csv", churn_config(image=sleeper))
    sm = boto3.client("sagemaker")
    poll(lambda: sm.describe_training_job(TrainingJobName="seam-sleeper")["SecondaryStatus"] == "Training")

    sm.stop_training_job(TrainingJobName="seam-sleeper")
    job = wait_job("seam-sleeper", timeout=10)

    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [e["detail"]["TrainingJobStatus"] for e in events] == ["InProgress", "Stopped"]
    assert runner.wait_idle(5)


def test_max_runtime_stops_the_job(sagemaker: Any) -> None:
    sleeper = ecr("sleeper")
    start_job(
        "seam-slow", "good.csv", churn_config(image=sleeper), StoppingCondition={"MaxRuntimeInSeconds": 1}
    )
    job = wait_job("seam-slow", timeout=10)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]} == {"validation:auc": 0.5}


def test_warm_pool_is_reused_by_the_next_matching_job(sagemaker: Any) -> None:
    runner, _ = sagemaker
    config = churn_config(warm_pool_keep_alive_seconds=900)
    start_job("seam-warm-1", "good.csv", config)
    wait_job("seam-warm-1")
    sm = boto3.client("sagemaker")
    poll(
        lambda: (
            sm.describe_training_job(TrainingJobName="seam-warm-1").get("WarmPoolStatus", {}).get("Status")
            == "Available"
        )
    )

    start_job("seam-warm-2", "good.csv", config)
    second = wait_job("seam-warm-2")

    first = sm.describe_training_job(TrainingJobName="seam-warm-1")
    assert first["WarmPoolStatus"]["Status"] == "Reused"
    assert first["WarmPoolStatus"]["ReusedByJob"] == "seam-warm-2"
    assert second["TrainingJobStatus"] == "Completed"
    poll(
        lambda: (
            sm.describe_training_job(TrainingJobName="seam-warm-2")["WarmPoolStatus"]["Status"] == "Available"
        )
    )
    runner.shutdown()
    assert sm.describe_training_job(TrainingJobName="seam-warm-2")["WarmPoolStatus"]["Status"] == "Terminated"


# -- SQS event source mapping ---------------------------------------------------------------------------


class Function:
    """A stand-in Lambda function: records batches, fails the records whose body is in `failing`."""

    def __init__(self, failing: set[str] = frozenset(), raises: bool = False, response: Any = None) -> None:
        self.failing, self.raises, self.response = failing, raises, response
        self.batches: list[list[dict[str, Any]]] = []

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        self.batches.append(event["Records"])
        if self.raises:
            raise FunctionError("RuntimeError: boom")
        if self.response is not None:
            return self.response
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.failing
            ]
        }


@pytest.fixture
def queue(aws: None) -> tuple[str, str, str]:
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="trigger-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(
        QueueName="trigger", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": redrive}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def poller(queue: tuple[str, str, str], function: Function, report: bool = True) -> SqsPoller:
    url, arn, _ = queue
    mapping = EventSourceMapping(
        "seam-test-trigger", url, arn, batch_size=10, report_batch_item_failures=report
    )
    return SqsPoller(mapping, boto3.client("sqs"), function, wait_seconds=0)


def bodies(url: str) -> list[str]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_poller_deletes_successes_and_redelivers_reported_failures_until_the_dlq(queue: Any) -> None:
    url, arn, dlq = queue
    sqs = boto3.client("sqs")
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    function = Function(failing={"bad"})
    subject = poller(queue, function)

    assert subject.poll_once() == 3
    record = function.batches[0][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert subject.poll_once() == 1  # only the failed record comes back (visibility timeout 0 here)
    assert [r["body"] for r in function.batches[1]] == ["bad"]
    assert function.batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert subject.poll_once() == 0  # maxReceiveCount 2 reached: the queue moved it to its DLQ
    assert bodies(url) == []
    assert bodies(dlq) == ["bad"]


def test_poller_keeps_the_whole_batch_when_the_function_fails(queue: Any) -> None:
    url, _, _ = queue
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    assert poller(queue, Function(raises=True)).poll_once() == 1
    assert bodies(url) == ["x"]


def test_poller_fails_the_batch_on_a_malformed_failure_report(queue: Any) -> None:
    url, _, _ = queue
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    response = {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]}
    assert poller(queue, Function(response=response)).poll_once() == 1
    assert bodies(url) == ["x"]


def test_poller_without_report_batch_item_failures_deletes_everything(queue: Any) -> None:
    url, _, _ = queue
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="bad")
    assert poller(queue, Function(failing={"bad"}), report=False).poll_once() == 1
    assert bodies(url) == []


def test_schedule_ticks_carry_the_scheduled_time_in_schedule_time() -> None:
    assert rate_seconds("rate(15 minutes)") == 900 and rate_seconds("rate(1 hour)") == 3600
    assert rate_seconds("cron(0 * * * ? *)") is None
    cfn = wiring.transformed(StackTemplate(stage="test"))
    schedules = {s.name: s for s in wiring.schedules(cfn)}
    assert schedules["seam-test-reconciler"].period_seconds == 300  # the ScheduleV2 event, transformed
    retrain = schedules["seam-test-retrain-tick"]
    sent: list[tuple[str, str]] = []
    start = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    ticker = ScheduleTicker(
        retrain, lambda arn, body: sent.append((arn, body)), speed=60, clock=lambda: start
    )
    assert ticker.interval == 15

    ticker.tick()
    ticker.tick()

    assert {arn for arn, _ in sent} == {cfn.arn("TriggerQueue")}
    ticks = [parse_trigger_body(body) for _, body in sent]
    assert [t.time for t in ticks] == [start + timedelta(minutes=15), start + timedelta(minutes=30)]


# -- EventBridge: rules from the template deliver AWS-shaped events to their SQS targets --------------------


@pytest.fixture
def wired(aws: None) -> Iterator[EmulatedStack]:
    template = StackTemplate(stage="test", parameters={"AllowedClusters": "seam-local"})
    stack = EmulatedStack(template)
    with install_event_sources():
        stack.create_tables()
        stack.create_buckets()
        stack.create_event_buses()
        stack.create_queues()
        wiring.deploy(wiring.transformed(template))
        yield stack


def drain(stack: EmulatedStack, logical_id: str) -> list[dict[str, Any]]:
    url = stack.queue_url(logical_id)
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_dataset_upload_reaches_the_trigger_queue_as_s3_sends_it(wired: EmulatedStack) -> None:
    bucket = wired.name("DataBucket")
    s3 = boto3.client("s3")
    put = s3.put_object(Bucket=bucket, Key="datasets/churn/a.csv", Body=b"x,churned\n1,0\n")
    s3.put_object(Bucket=bucket, Key="models/churn/model.tar.gz", Body=b"not a dataset")

    [event] = drain(wired, "TriggerQueue")

    assert (event["source"], event["detail-type"], event["account"]) == (
        "aws.s3",
        "Object Created",
        "123456789012",
    )
    obj = event["detail"]["object"]
    assert obj["key"] == "datasets/churn/a.csv" and obj["etag"] == put["ETag"].strip('"')
    assert obj["version-id"] == put["VersionId"] and obj["sequencer"]
    assert event["detail"]["reason"] == "PutObject"
    parsed = parse_trigger_body(json.dumps(event))
    assert parsed.detail.object.etag == obj["etag"]  # type: ignore[union-attr]


def test_an_alarm_going_to_alarm_reaches_the_trigger_queue(wired: EmulatedStack) -> None:
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="churn-feature-drift",
        Namespace="Seam/Models",
        MetricName="FeatureDriftPSI",
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0.2,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="churn-feature-drift", StateValue="ALARM", StateReason="drift")
    cloudwatch.set_alarm_state(AlarmName="churn-feature-drift", StateValue="ALARM", StateReason="still")
    cloudwatch.set_alarm_state(AlarmName="churn-feature-drift", StateValue="OK", StateReason="fine")

    [event] = drain(wired, "TriggerQueue")  # one change to ALARM; the back-to-OK event matches no rule

    parsed = parse_trigger_body(json.dumps(event))
    assert parsed.detail.alarmName == "churn-feature-drift"  # type: ignore[union-attr]
    assert parsed.detail.state.value == "ALARM" and parsed.detail.previousState.value == "OK"  # type: ignore[union-attr]


def test_an_outcome_on_seams_bus_is_published_though_the_alert_topic_is_not_emulated(
    wired: EmulatedStack,
) -> None:
    """RunOutcomeRule targets the alert topic (SNS): moto's EventBridge raises on such a target, so the
    emulator creates the rule without it and Finalize's PutEvents goes through."""
    events = boto3.client("events")
    bus = wired.name("SeamEventBus")
    rule = wired.template.physical_name("RunOutcomeRule")
    assert events.describe_rule(Name=rule, EventBusName=bus)["EventPattern"]
    assert events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"] == []

    entry = {"Source": "seam.workflow", "DetailType": "RunFailed", "EventBusName": bus}
    detail = {"run_id": "seam-churn-1", "model": "churn", "status": "FAILED", "reason": "x"}
    answer = events.put_events(Entries=[{**entry, "Detail": json.dumps(detail)}])

    assert answer["FailedEntryCount"] == 0


def test_training_state_changes_of_this_stages_jobs_reach_the_callback_queue(wired: EmulatedStack) -> None:
    events = boto3.client("events")
    # This stage's job; another stage's in the same account; a job Seam did not start.
    for name in ("seam-test-churn-1", "seam-prod-churn-1", "someone-elses-job"):
        events.put_events(
            Entries=[
                {
                    "Source": "aws.sagemaker",
                    "DetailType": "SageMaker Training Job State Change",
                    "Detail": json.dumps({"TrainingJobName": name, "TrainingJobStatus": "Completed"}),
                }
            ]
        )

    [event] = drain(wired, "CallbackQueue")

    assert event["account"] == "123456789012"  # moto's default target input drops it; the hook keeps it
    assert parse_training_body(json.dumps(event)).detail.TrainingJobName == "seam-test-churn-1"


# -- local EKS: the real EksServing adapter against the local cluster, rollouts restart serving ------------


@pytest.fixture
def model_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained churn model.tar.gz, made by the image's own entry point."""
    base = tmp_path_factory.mktemp("sm")
    (base / "input" / "data" / "train").mkdir(parents=True)
    shutil.copy(EXAMPLE / "data" / "good.csv", base / "input" / "data" / "train")
    image = ImageResolver().resolve(ecr("churn"))
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(image.folder), "SM_BASE_DIR": str(base)}
    subprocess.run(image.command(["train"]), env=env, check=True, capture_output=True, timeout=120)
    with tarfile.open(base / "model.tar.gz", "w:gz") as archive:
        for path in (base / "model").iterdir():
            archive.add(path, arcname=path.name)
    return base / "model.tar.gz"


def test_local_eks_rollouts_restart_serving_and_a_broken_one_keeps_the_old(
    aws: None, tmp_path: Path, model_tarball: Path
) -> None:
    from seam.adapters.serving.eks import EksServing
    from seam.models.serving import Release
    from seam.models.serving_target import ServingTarget

    seam.reset()
    cluster = LocalEks(work_dir=tmp_path, endpoint_url="http://127.0.0.1:9", step_seconds=0.05).start()
    try:
        described = boto3.client("eks").describe_cluster(name="seam-local")["cluster"]
        assert described["endpoint"] == cluster.kube.url
        assert described["certificateAuthority"]["data"] == cluster.kube.ca_data
        target = ServingTarget(
            cluster="seam-local", namespace="ml-serving", deployment="churn-predictor", container="model"
        )
        cluster.seed(target)
        adapter = EksServing(allowed_clusters=frozenset({"seam-local"}))  # DescribeCluster + STS token + CA

        def release(version: str, uri: str) -> int:
            return adapter.apply(
                target,
                Release(image=ecr("churn"), model_uri=uri, model_version=version, run_id=f"seam-{version}"),
            )

        def rollout(generation: int) -> str:
            return poll(
                lambda: (s := adapter.rollout_status(target, generation).state) != "progressing" and s, 60
            )

        assert rollout(release("000001", model_tarball.as_uri())) == "done"
        first = cluster.serving("ml-serving", "churn-predictor")
        assert first is not None and first.version == "000001"
        assert _ask(first.url)["model_version"] == "000001"

        assert (
            rollout(release("000002", "file:///nowhere/model.tar.gz")) == "failed"
        )  # serve exits: never ready
        assert cluster.serving("ml-serving", "churn-predictor") is first  # the old process keeps serving
        assert _ask(first.url)["model_version"] == "000001"
    finally:
        cluster.stop()
        seam.reset()
    with pytest.raises(OSError):
        _ask(first.url)


def _ask(url: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/invocations", data=json.dumps({"instances": [dict.fromkeys(FEATURES, 1.0)]}).encode()
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())
