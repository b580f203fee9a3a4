"""The S3, SageMaker, Step Functions and EventBridge adapters against moto (faults injected per call)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.s3.models
import pytest
from botocore.exceptions import ReadTimeoutError
from seam.adapters.aws import client
from seam.adapters.datasets import DatasetStore
from seam.adapters.outcomes import SOURCE, OutcomePublisher
from seam.adapters.sagemaker import ModelRegistry, TrainingJobs
from seam.adapters.workflow import Workflow
from seam.domain.training import training_job_request
from seam.errors import (
    DataValidationError,
    RegistryError,
    SeamError,
    TrainingCapacityError,
    TrainingError,
    TransientError,
)
from seam.models.run import DatasetRef, Snapshot
from seam_local.stack import EmulatedStack

from tests.unit.conftest import IMAGE, Faults, model_config

# -- DatasetStore (S3) ---------------------------------------------------------------------------------------


@pytest.fixture
def datasets(bucket: str) -> DatasetStore:
    return DatasetStore(bucket)


def put(bucket: str, key: str, body: bytes) -> dict[str, Any]:
    return client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def test_head_resolves_size_etag_and_version_of_the_object(datasets: DatasetStore) -> None:
    written = put(datasets.bucket, "datasets/churn/a.csv", b"a,b\n1,2\n")

    resolved = datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))

    assert resolved == DatasetRef(
        bucket=datasets.bucket,
        key="datasets/churn/a.csv",
        version_id=written["VersionId"],
        etag=written["ETag"].strip('"'),
        size=8,
    )


def test_head_of_a_pinned_version_describes_that_version_not_the_latest(datasets: DatasetStore) -> None:
    old = put(datasets.bucket, "datasets/churn/a.csv", b"old")
    put(datasets.bucket, "datasets/churn/a.csv", b"newer bytes")

    pinned = DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv", version_id=old["VersionId"])
    resolved = datasets.head(pinned)

    assert (resolved.size, resolved.etag, resolved.version_id) == (
        3,
        old["ETag"].strip('"'),
        old["VersionId"],
    )
    assert datasets.read_head(resolved, 1024) == b"old"


def test_an_unversioned_bucket_gives_no_version_id(stack: EmulatedStack) -> None:
    client("s3").create_bucket(Bucket="seam-unit-unversioned")
    put("seam-unit-unversioned", "datasets/churn/a.csv", b"x")

    resolved = DatasetStore("seam-unit-unversioned").head(
        DatasetRef(bucket="seam-unit-unversioned", key="datasets/churn/a.csv")
    )

    assert (resolved.version_id, resolved.size) == (None, 1)


@pytest.mark.parametrize(
    "target",
    [{"key": "datasets/churn/missing.csv"}, {"key": "datasets/churn/a.csv", "version_id": "no-such-version"}],
    ids=["key", "version"],
)
def test_a_missing_object_or_version_fails_the_exists_rule(
    datasets: DatasetStore, target: dict[str, str]
) -> None:
    put(datasets.bucket, "datasets/churn/a.csv", b"x")

    with pytest.raises(DataValidationError) as caught:
        datasets.head(DatasetRef(bucket=datasets.bucket, **target))

    assert caught.value.rule == "exists"
    assert caught.value.detail == f"s3://{datasets.bucket}/{target['key']} does not exist"


@pytest.mark.parametrize(
    ("code", "status", "error"), [("403", 403, SeamError), ("SlowDown", 503, TransientError)]
)
def test_other_head_failures_are_not_validation_failures(
    datasets: DatasetStore, faults: Faults, code: str, status: int, error: type[SeamError]
) -> None:
    faults.fail("s3", "HeadObject", code, status)

    with pytest.raises(SeamError) as caught:
        datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))

    assert type(caught.value) is error
    assert str(caught.value).startswith(f"HeadObject s3://{datasets.bucket}/datasets/churn/a.csv failed")


def test_a_connection_failure_reaching_s3_is_transient(datasets: DatasetStore, faults: Faults) -> None:
    faults.fail(
        "s3", "HeadObject", raises=ReadTimeoutError(endpoint_url="https://s3.us-east-1.amazonaws.com")
    )

    with pytest.raises(TransientError, match=r"HeadObject .* failed: Read timeout on endpoint URL"):
        datasets.head(DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv"))


def test_read_head_reads_at_most_the_requested_bytes(datasets: DatasetStore, faults: Faults) -> None:
    put(datasets.bucket, "datasets/churn/a.csv", bytes(range(256)) * 40)
    target = DatasetRef(bucket=datasets.bucket, key="datasets/churn/a.csv")

    assert datasets.read_head(target, 1024) == (bytes(range(256)) * 4)
    assert datasets.read_head(target, 1_000_000) == bytes(range(256)) * 40
    assert faults.sent("s3", "GetObject")[0]["Range"] == "bytes=0-1023"


def test_latest_is_none_for_an_empty_prefix_and_ignores_folder_markers(datasets: DatasetStore) -> None:
    put(datasets.bucket, "datasets/churn/", b"")
    put(datasets.bucket, "datasets/churn-v2/a.csv", b"x")

    assert datasets.latest("datasets/churn/") is None


def test_latest_is_the_most_recent_object_under_the_prefix(
    datasets: DatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [datetime(2026, 11, 22, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(moto.s3.models, "utcnow", lambda: now[0])  # moto's S3 clock
    put(datasets.bucket, "datasets/churn/b.csv", b"x")
    now[0] += timedelta(seconds=1)
    newest = put(datasets.bucket, "datasets/churn/a.csv", b"xyz")

    latest = datasets.latest("datasets/churn/")

    assert latest == DatasetRef(
        bucket=datasets.bucket, key="datasets/churn/a.csv", etag=newest["ETag"].strip('"'), size=3
    )


# -- TrainingJobs (SageMaker) --------------------------------------------------------------------------------


def job_request(**training: Any) -> dict[str, Any]:
    config = model_config(training={"image": IMAGE, "max_runtime_seconds": 600, **training})
    return training_job_request(
        config,
        "seam-churn-0123456789ab",
        Snapshot(
            source=DatasetRef(bucket="seam-unit-data", key="datasets/churn/a.csv"),
            train_uri="s3://seam-unit-data/runs/seam-churn-0123456789ab/train/a.csv",
        ),
        "arn:aws:iam::123456789012:role/seam-unit-SageMakerTrainingRole",
        "s3://seam-unit-data/models/churn/",
        "unit",
    )


@pytest.mark.parametrize(
    "training",
    [
        {},
        {"warm_pool_keep_alive_seconds": 900, "hyperparameters": {"C": "1.0"}},
        {"use_spot": True, "max_wait_seconds": 1200, "checkpoint_s3_uri": "s3://seam-unit-data/checkpoints"},
    ],
    ids=["plain", "warm-pool", "spot"],
)
def test_the_training_job_request_is_a_valid_create_training_job_call(
    stack: EmulatedStack, training: dict[str, Any]
) -> None:
    request = job_request(**training)

    assert TrainingJobs().create(request) is True  # botocore validated every parameter against the API model

    described = TrainingJobs().describe("seam-churn-0123456789ab")
    assert described is not None
    assert described["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert described["StoppingCondition"] == request["StoppingCondition"]
    assert described["ResourceConfig"] == request["ResourceConfig"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ResourceInUse", "Training job names must be unique"),
        ("ValidationException", "a training job with this name already exists"),
    ],
)
def test_creating_a_job_that_already_exists_is_not_an_error(faults: Faults, code: str, message: str) -> None:
    faults.fail("sagemaker", "CreateTrainingJob", code, message=message)

    assert TrainingJobs().create(job_request()) is False


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ResourceLimitExceeded", 400, TrainingCapacityError),  # retried with long backoff by the ASL
        ("ValidationException", 400, TrainingError),
        ("ThrottlingException", 400, TransientError),
    ],
)
def test_other_create_failures_are_raised(
    faults: Faults, code: str, status: int, error: type[SeamError]
) -> None:
    faults.fail("sagemaker", "CreateTrainingJob", code, status)

    with pytest.raises(error, match="CreateTrainingJob seam-churn-0123456789ab failed"):
        TrainingJobs().create(job_request())


def test_describing_a_job_that_does_not_exist_is_none(stack: EmulatedStack) -> None:
    assert TrainingJobs().describe("seam-churn-nobody") is None


def test_describing_with_other_failures_raises(faults: Faults) -> None:
    faults.fail("sagemaker", "DescribeTrainingJob", "AccessDeniedException", message="denied")

    with pytest.raises(TrainingError, match="DescribeTrainingJob j failed"):
        TrainingJobs().describe("j")


def test_stopping_a_running_job_stops_it_and_stopping_it_again_is_not_an_error(stack: EmulatedStack) -> None:
    from seam_local.moto_hooks import set_training_job

    TrainingJobs().create(job_request())
    set_training_job("seam-churn-0123456789ab", "InProgress", account="123456789012", region="us-east-1")

    first = TrainingJobs().stop("seam-churn-0123456789ab")
    again = TrainingJobs().stop("seam-churn-0123456789ab")
    missing = TrainingJobs().stop("seam-churn-nobody")

    assert (
        first.stopping
        and TrainingJobs().describe("seam-churn-0123456789ab")["TrainingJobStatus"] == "Stopped"
    )
    assert not again.stopping and "in status Stopped" in again.reason  # SageMaker's ValidationException
    assert not missing.stopping and "ValidationException" in missing.reason


@pytest.mark.parametrize(
    ("code", "error"), [("ThrottlingException", TransientError), ("AccessDeniedException", TrainingError)]
)
def test_stop_failures_other_than_nothing_to_stop_are_raised(
    faults: Faults, code: str, error: type[SeamError]
) -> None:
    faults.fail("sagemaker", "StopTrainingJob", code)

    with pytest.raises(error, match="StopTrainingJob j failed"):
        TrainingJobs().stop("j")


# -- ModelRegistry (SageMaker) -------------------------------------------------------------------------------


def test_ensure_group_creates_a_missing_group_once(faults: Faults) -> None:
    registry = ModelRegistry()
    tags = [{"Key": "seam:model", "Value": "churn"}]

    registry.ensure_group("seam-unit-churn", "Seam model churn", tags)
    registry.ensure_group("seam-unit-churn", "Seam model churn", tags)

    assert faults.count("sagemaker", "CreateModelPackageGroup") == 1
    assert faults.sent("sagemaker", "CreateModelPackageGroup") == [
        {
            "ModelPackageGroupName": "seam-unit-churn",
            "ModelPackageGroupDescription": "Seam model churn",
            "Tags": tags,
        }
    ]


def test_ensure_group_does_not_create_when_it_cannot_look(faults: Faults) -> None:
    faults.fail("sagemaker", "DescribeModelPackageGroup", "AccessDeniedException", message="denied")

    with pytest.raises(RegistryError, match="DescribeModelPackageGroup seam-unit-churn failed"):
        ModelRegistry().ensure_group("seam-unit-churn", "d", [])
    assert faults.count("sagemaker", "CreateModelPackageGroup") == 0


def test_create_version_returns_the_described_package(stack: EmulatedStack) -> None:
    registry = ModelRegistry()
    registry.ensure_group("seam-unit-churn", "d", [])
    request = {
        "ModelPackageGroupName": "seam-unit-churn",
        "ClientToken": "seam-churn-0123456789ab",
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }

    package = registry.create_version(request)

    assert (package["ModelPackageVersion"], package["ModelApprovalStatus"]) == (1, "PendingManualApproval")
    assert package["ModelPackageArn"].endswith("model-package/seam-unit-churn/1")


# -- Workflow (Step Functions) -------------------------------------------------------------------------------


@pytest.fixture
def workflow(state_machine: str) -> Workflow:
    return Workflow(state_machine)


@pytest.fixture
def settling(stack: EmulatedStack) -> Workflow:
    """Task tokens are settled without the state machine: moto accepts any token, faults decide."""
    return Workflow(stack.state_machine_arn)


def test_a_run_starts_an_execution_named_by_its_run_id_with_the_document(workflow: Workflow) -> None:
    assert workflow.start("seam-churn-0123456789ab", {"run_id": "seam-churn-0123456789ab", "n": 1}) is True

    execution = workflow.sfn.describe_execution(
        executionArn=workflow.execution_arn("seam-churn-0123456789ab")
    )
    assert execution["name"] == "seam-churn-0123456789ab"
    assert execution["stateMachineArn"] == workflow.state_machine_arn
    assert json.loads(execution["input"]) == {"run_id": "seam-churn-0123456789ab", "n": 1}
    assert workflow.execution_status("seam-churn-0123456789ab") == "RUNNING"


def test_starting_a_name_that_exists_with_another_input_or_closed_is_false(workflow: Workflow) -> None:
    workflow.start("seam-churn-a", {"n": 1})
    workflow.start("seam-churn-b", {"n": 1})
    workflow.sfn.stop_execution(executionArn=workflow.execution_arn("seam-churn-b"))

    assert workflow.start("seam-churn-a", {"n": 2}) is False
    assert workflow.start("seam-churn-b", {"n": 1}) is False
    assert workflow.execution_status("seam-churn-b") == "ABORTED"
    listed = workflow.sfn.list_executions(stateMachineArn=workflow.state_machine_arn)["executions"]
    assert sorted(e["name"] for e in listed) == ["seam-churn-a", "seam-churn-b"]


def test_the_status_of_an_execution_that_never_started_is_none(workflow: Workflow) -> None:
    assert workflow.execution_status("seam-churn-never") is None


def test_a_start_that_fails_otherwise_is_raised(workflow: Workflow, faults: Faults) -> None:
    faults.fail("sfn", "StartExecution", "StateMachineDoesNotExist", message="gone")

    with pytest.raises(SeamError, match="StartExecution seam-churn-a failed"):
        workflow.start("seam-churn-a", {})


def test_settling_sends_the_token_output_and_a_bounded_error_and_cause(
    settling: Workflow, faults: Faults
) -> None:
    assert settling.succeed("tok", {"metrics": {"auc": 0.9}}) is True
    assert settling.fail("tok", "E" * 300, "c" * 40_000) is True
    assert settling.heartbeat("tok") is True

    assert faults.sent("sfn", "SendTaskSuccess") == [
        {"taskToken": "tok", "output": '{"metrics": {"auc": 0.9}}'}
    ]
    (failure,) = faults.sent("sfn", "SendTaskFailure")
    assert (len(failure["error"]), len(failure["cause"])) == (256, 32768)
    assert faults.sent("sfn", "SendTaskHeartbeat") == [{"taskToken": "tok"}]


@pytest.mark.parametrize("operation", ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"])
def test_a_token_that_timed_out_or_was_used_is_already_settled(
    settling: Workflow, faults: Faults, operation: str
) -> None:
    send = {
        "SendTaskSuccess": lambda: settling.succeed("tok", {}),
        "SendTaskFailure": lambda: settling.fail("tok", "E", "c"),
        "SendTaskHeartbeat": lambda: settling.heartbeat("tok"),
    }[operation]
    for code in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
        faults.fail("sfn", operation, code, times=1)
        assert send() is False, code
    assert send() is True  # no fault left: settled now


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, TransientError),
        ("ServiceUnavailable", 503, TransientError),
        ("AccessDeniedException", 400, TrainingError),
    ],
)
def test_other_settlement_failures_are_raised(
    settling: Workflow, faults: Faults, code: str, status: int, error: type[SeamError]
) -> None:
    faults.fail("sfn", "SendTaskSuccess", code, status)

    with pytest.raises(error, match="SendTaskSuccess failed"):
        settling.succeed("tok", {})


# -- OutcomePublisher (EventBridge) --------------------------------------------------------------------------


def test_an_outcome_reaches_a_rule_subscribed_to_seams_bus(event_bus: str) -> None:
    sqs, events = client("sqs"), client("events")
    queue = sqs.create_queue(QueueName="team-subscription")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="team", EventBusName=event_bus, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="team", EventBusName=event_bus, Targets=[{"Id": "q", "Arn": queue_arn}])

    OutcomePublisher(event_bus).publish(
        "ModelDeployed", {"run_id": "r1", "metrics": {"auc": 0.9}, "version": None}
    )

    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("seam.workflow", "ModelDeployed")
    assert event["detail"] == {"run_id": "r1", "metrics": {"auc": 0.9}, "version": None}


def test_an_outcome_on_a_bus_that_does_not_exist_fails(stack: EmulatedStack) -> None:
    with pytest.raises(SeamError, match="PutEvents RunFailed failed"):
        OutcomePublisher("seam-unit-missing").publish("RunFailed", {"run_id": "r1"})


def test_a_rejected_entry_is_an_error(event_bus: str, faults: Faults) -> None:
    faults.respond(
        "eventbridge",
        "PutEvents",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]},
    )

    with pytest.raises(RuntimeError, match="PutEvents rejected the RunFailed event"):
        OutcomePublisher(event_bus).publish("RunFailed", {"run_id": "r1"})
