"""Drives the real RetrainWorkflow ASL in moto's Step Functions interpreter with in-process handlers.

Events reach the functions the way their event sources deliver them (SQS batches with EventBridge
bodies); SageMaker is moto's, moved through its statuses by `finish_training`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import random
import tarfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from seam.dependencies import Dependencies
from seam.domain.champion_scoring import scoring_job_name
from seam.models.model_config import ModelConfig
from seam.models.run import Run
from seam_local.moto_hooks import package_event, set_processing_job, set_training_job
from seam_local.stack import EmulatedStack

from tests import model_configs
from tests.workflow.in_memory_serving import InMemoryServing

IMAGE = model_configs.IMAGE
CRASHING_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-crashloop@sha256:" + "b" * 64
GOOD_CSV = "tenure,charges,churned\n" + "".join(f"{i},{i * 1.5},{i % 2}\n" for i in range(60))


def model_config(name: str = "churn", image: str = IMAGE, **overrides: Any) -> ModelConfig:
    """A config whose rules GOOD_CSV passes and `seam models put` accepts (the label among the columns:
    the trigger checks a stored config the same way); `overrides` replace top-level fields."""
    columns = [{"name": n, "dtype": "number"} for n in ("tenure", "charges", "churned")]
    validation = {"min_rows": 10, "columns": columns}
    return model_configs.model_config(name, image, validation, {"floor": 0.6}, **overrides)


def sqs_event(*bodies: dict[str, Any] | str, receive_count: int = 1) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it."""
    records = []
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000000",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trigger",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


@dataclass
class Harness:
    stack: EmulatedStack
    deps: Dependencies
    serving: InMemoryServing

    @property
    def bucket(self) -> str:
        return self.deps.settings.data_bucket

    def onboard(self, config: ModelConfig) -> ModelConfig:
        """Store the config as `seam models put` does when its check passes (with the check's marker,
        which the trigger trusts); one that fails the check is stored as if written some other way
        (no marker): the trigger checks it, and refuses its retrains."""
        from seam.domain.onboarding import check_config

        passed = not check_config(config, self.deps.settings, None)  # the Deployment is added below
        self.deps.models.put(config, checked_for=self.deps.settings.allowed_clusters if passed else None)
        if config.serving:
            self.serving.add(config.serving, image="registry/churn:previous", env={"SEAM_MODEL_VERSION": "0"})
        return config

    # -- events ------------------------------------------------------------------------------------
    def object_created_event(self, key: str, body: str, at: datetime | None = None) -> dict[str, Any]:
        """S3's "Object Created" for a new object at `key`, stamped `at` (default: now) in whole seconds
        as EventBridge stamps it. A drop is the last thing in its second (RunRequest.order): a test that
        makes another kind of request for the model right after it and wants that one to be the newer
        stamps the drop earlier."""
        put = self.stack.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body.encode())
        obj = {
            "key": key,
            "size": len(body.encode()),
            "etag": put["ETag"].strip('"'),
            "version-id": put.get("VersionId"),
            "sequencer": f"{next(_SEQUENCER):018X}",  # grows with every write, as S3's does
        }
        detail = {
            "version": "0",
            "bucket": {"name": self.bucket},
            "object": obj,
            "request-id": "REQ",
            "requester": "123456789012",
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        }
        return _event("aws.s3", "Object Created", f"arn:aws:s3:::{self.bucket}", detail, at)

    def alarm_event(self, alarm: str, state: str = "ALARM") -> dict[str, Any]:
        detail = {
            "alarmName": alarm,
            "state": {
                "value": state,
                "reason": "Threshold Crossed",
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),  # as CloudWatch's
            },
            "previousState": {"value": "OK", "reason": "ok", "timestamp": "2026-11-22T00:00:00+00:00"},
            "configuration": {"metrics": []},
        }
        arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"
        return _event("aws.cloudwatch", "CloudWatch Alarm State Change", arn, detail)

    def trigger(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        return self.stack.invoke("TriggerFunction", sqs_event(*bodies))

    def drop(
        self, model: str, body: str = GOOD_CSV, name: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        event = self.object_created_event(f"datasets/{model}/{name or uuid.uuid4().hex[:8]}.csv", body, at)
        assert self.trigger(event) == {"batchItemFailures": []}
        return event

    # -- training ------------------------------------------------------------------------------------
    def wait_for_training(self, run_id: str, timeout: float = 20) -> None:
        """Until LaunchTraining has stored the token and created the job."""
        _poll(
            lambda: self.deps.tokens.get(run_id) is not None and self._job_exists(run_id),
            timeout,
            f"{run_id} never reached LaunchTraining",
        )

    def _job_exists(self, name: str) -> bool:
        try:
            self.stack.client("sagemaker").describe_training_job(TrainingJobName=name)
            return True
        except Exception:
            return False

    def training_event(
        self,
        run_id: str,
        status: str,
        metrics: dict[str, float] | None = None,
        failure_reason: str | None = None,
    ) -> dict[str, Any]:
        return set_training_job(
            run_id,
            status,
            account="123456789012",
            region="us-east-1",
            metrics=metrics,
            failure_reason=failure_reason,
            billable_seconds=42,
        )

    def finish_training(
        self,
        run_id: str,
        status: str = "Completed",
        auc: float = 0.9,
        failure_reason: str | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        self.wait_for_training(run_id)
        event = self.training_event(
            run_id, status, {"validation:auc": auc} if status == "Completed" else None, failure_reason
        )
        if deliver:
            assert self.stack.invoke("TrainingCallbackFunction", sqs_event(event)) == {
                "batchItemFailures": []
            }
        return event

    # -- paired evaluation: what the image writes to /opt/ml/output/data ---------------------------------
    def holdout_labels(self, run_id: str, label: str = "churned") -> list[float]:
        """The label column of the run's holdout snapshot, in row-id order."""
        run = self.run(run_id)
        assert run.snapshot and run.snapshot.holdout, f"{run_id} has no holdout"
        bucket, _, key = run.snapshot.holdout.uri.removeprefix("s3://").partition("/")
        text = self.stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        return [float(row[label]) for row in csv.DictReader(io.StringIO(text))]

    def write_outputs(self, run_id: str, files: dict[str, str]) -> str:
        """What a completed job uploads: model.tar.gz, and output.tar.gz beside it (/opt/ml/output/data,
        holding `files`)."""
        self.wait_for_training(run_id)
        described = self.stack.client("sagemaker").describe_training_job(TrainingJobName=run_id)
        model = described["ModelArtifacts"]["S3ModelArtifacts"]
        uri = model.rsplit("/", 1)[0] + "/output.tar.gz"
        for target, content in ((model, {"model.json": '{"kind": "test"}'}), (uri, files)):
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                for name, text in content.items():
                    data = text.encode()
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
            bucket, _, key = target.removeprefix("s3://").partition("/")
            self.stack.client("s3").put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        return uri

    # -- a champion of another image: its Processing job (seam.domain.champion_scoring) ---------------------
    def wait_for_scoring(self, run_id: str, timeout: float = 20) -> str:
        """Until ScoreChampion has stored the token and created the job; the job's name."""
        name = scoring_job_name(run_id)
        sm = self.stack.client("sagemaker")

        def created() -> bool:
            try:
                return self.deps.tokens.get(name) is not None and bool(
                    sm.describe_processing_job(ProcessingJobName=name)
                )
            except Exception:
                return False

        _poll(created, timeout, f"{run_id} never reached ScoreChampion")
        return name

    def finish_scoring(
        self,
        run_id: str,
        predictions: str | None,
        status: str = "Completed",
        exit_message: str | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """What the champion's image does in its Processing job: `predictions` written to the job's
        output (runs/<run>/champion/predictions.csv), then `status`; the event delivered to the callback."""
        name = self.wait_for_scoring(run_id)
        if predictions is not None:
            key = f"runs/{run_id}/champion/predictions.csv"
            self.stack.client("s3").put_object(Bucket=self.bucket, Key=key, Body=predictions.encode())
        event = set_processing_job(
            name,
            status,
            account="123456789012",
            region="us-east-1",
            started=datetime.now(UTC) - timedelta(seconds=30),
            exit_message=exit_message,
        )
        if deliver:
            assert self.stack.invoke("TrainingCallbackFunction", sqs_event(event)) == {
                "batchItemFailures": []
            }
        return event

    # -- the Model Registry ------------------------------------------------------------------------------
    def package_arn(self, model: str, version: str) -> str:
        record = self.deps.versions.get_version(model, version)
        assert record is not None, f"no version {version} of {model}"
        return record.model_package_arn

    def set_approval(
        self,
        model: str,
        version: str,
        status: str,
        description: str = "",
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """UpdateModelPackage as Studio or the AWS CLI would call it; returns the state-change event
        SageMaker emits for it (delivered with `trigger`, as the approval queue would)."""
        arn = self.package_arn(model, version)
        self.stack.client("sagemaker").update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=status,
            ApprovalDescription=description,
            **({"CustomerMetadataProperties": metadata} if metadata else {}),
        )
        return package_event(arn, account="123456789012", region="us-east-1")

    def approval_status(self, model: str, version: str) -> str:
        package = self.stack.client("sagemaker").describe_model_package(
            ModelPackageName=self.package_arn(model, version)
        )
        return str(package["ModelApprovalStatus"])

    # -- executions ------------------------------------------------------------------------------------
    def execution_arn(self, run_id: str) -> str:
        return self.deps.workflow.execution_arn(run_id)

    def wait_execution(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        sfn = self.stack.client("stepfunctions")
        _poll(
            lambda: sfn.describe_execution(executionArn=self.execution_arn(run_id))["status"] != "RUNNING",
            timeout,
            f"execution {run_id} still running",
        )
        return sfn.describe_execution(executionArn=self.execution_arn(run_id))

    def states_entered(self, run_id: str) -> list[str]:
        events = self.stack.client("stepfunctions").get_execution_history(
            executionArn=self.execution_arn(run_id), maxResults=1000
        )["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def executions(self) -> list[dict[str, Any]]:
        return self.stack.client("stepfunctions").list_executions(
            stateMachineArn=self.stack.state_machine_arn
        )["executions"]

    def run(self, run_id: str) -> Run:
        run = self.deps.runs.get(run_id)
        assert run is not None, f"no run record {run_id}"
        return run

    def only_run_id(self, model: str = "churn") -> str:
        runs = self.deps.runs.list_for_model(model)
        assert len(runs) == 1, [r.run_id for r in runs]
        return runs[0].run_id


_SEQUENCER = itertools.count(0x6A2000000000000000)


def _event(
    source: str, detail_type: str, resource: str, detail: dict[str, Any], at: datetime | None = None
) -> dict[str, Any]:
    """An AWS service's event as EventBridge delivers it (account 123456789012, us-east-1)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        # Whole seconds, as EventBridge's envelope has them (an S3 event's only time): requests of
        # different kinds within one second are ordered by RunRequest.order's tie rank, as on AWS.
        "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [resource],
        "detail": detail,
    }


def _poll(check: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(message)


def predictions_csv(labels: list[float], scores: list[float | str]) -> str:
    """The image contract's per-row predictions file: row ids are holdout positions."""
    rows = "".join(
        f"{i},{label:g},{score}\n" for i, (label, score) in enumerate(zip(labels, scores, strict=True))
    )
    return "row_id,label,score\n" + rows


def noisy_scores(labels: list[float], separation: float, seed: str) -> list[float]:
    """Probabilities that rank the rows as well as `separation` allows (0: chance; 3: nearly perfect),
    the same for the same seed."""
    rng = random.Random(seed)
    return [1 / (1 + math.exp(-((2 * y - 1) * separation + rng.gauss(0, 1)))) for y in labels]
