"""A champion of another image digest, scored by its own image (issue 12): on the local runtime, the churn
model's v1 is trained by image A; the config then moves to image B; the next run's champion is scored by a
SageMaker Processing job of image A (the example image's real `evaluate` entry point, run by the local
SageMaker), the challenger by its training job of image B, both on the same holdout, and Evaluate decides
paired and records which mechanism scored the champion."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from rich.console import Console
from seam.domain.champion_scoring import scoring_job_name
from seam.models.model_config import ModelConfig
from seam.models.run import Run, RunStatus
from seam_local.console import RuntimeLog
from seam_local.demo import DATA, fresh_dataset
from seam_local.runtime import EXAMPLE_MODEL, LocalRuntime, wait_for

IMAGE_A = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "a" * 64
IMAGE_B = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "b" * 64  # same code, other digest
TIMEOUT = 120.0


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    log = RuntimeLog(Console(file=io.StringIO()))
    with LocalRuntime(state_dir=tmp_path / "local", log=log, schedules=False) as started:
        yield started


def churn(image: str, folder: Path) -> Path:
    """examples/churn/model.yaml with `image`."""
    raw = yaml.safe_load(EXAMPLE_MODEL.read_text())
    raw["training"]["image"] = image
    path = folder / f"churn-{image[-6:]}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_for(runtime: LocalRuntime, bucket: str, key: str, body: bytes) -> Run:
    """Drop `body` at datasets/churn/`key` and wait for its run's outcome and its execution's end."""
    boto3.client("s3").put_object(Bucket=bucket, Key=f"datasets/churn/{key}", Body=body)
    runs = runtime.deps.runs
    run = wait_for(
        lambda: next(
            (r for r in runs.list_for_model("churn") if r.dataset and r.dataset.key.endswith(key)), None
        ),
        TIMEOUT,
        f"no run for {key}",
    )
    ended = wait_for(
        lambda: (r := runs.get(run.run_id)) is not None and r.status.terminal and r, TIMEOUT, key
    )
    watcher = runtime.watcher
    assert watcher is not None
    wait_for(lambda: (v := watcher.view(run.run_id)) is not None and v.status != "RUNNING", TIMEOUT, key)
    return ended  # type: ignore[return-value]


def test_a_champion_of_another_image_is_scored_by_a_processing_job_of_its_image_on_the_same_holdout(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    runtime.onboard(churn(IMAGE_A, tmp_path))  # and its Deployment in the local cluster
    bucket = runtime.environment()["SEAM_DATA_BUCKET"]
    first = run_for(runtime, bucket, "a-good.csv", (DATA / "good.csv").read_bytes())
    assert first.status is RunStatus.DEPLOYED, first.cause
    assert first.evaluation and first.evaluation.champion_scored_by is None  # first version: no champion

    runtime.deps.models.put(
        ModelConfig.model_validate(yaml.safe_load(churn(IMAGE_B, tmp_path).read_text()))
    )  # a new image: v1's artifact is read only by image A's code
    second = run_for(runtime, bucket, "b-fresh.csv", fresh_dataset())
    assert second.status is RunStatus.DEPLOYED, second.cause
    sm = boto3.client("sagemaker")

    # The champion: a Processing job of image A on the run's holdout, hardened, tagged, settled by event.
    name = scoring_job_name(second.run_id)
    assert second.champion_scoring_job_name == name
    job = sm.describe_processing_job(ProcessingJobName=name)
    assert job["ProcessingJobStatus"] == "Completed"
    assert job["AppSpecification"]["ImageUri"] == IMAGE_A
    assert job["AppSpecification"]["ContainerArguments"][0] == "evaluate"
    holdout = second.snapshot.holdout  # type: ignore[union-attr]
    assert holdout is not None and holdout.champion is not None
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    assert inputs == {
        "model": holdout.champion.model_artifact_uri,
        "holdout": holdout.uri.rsplit("/", 1)[0] + "/",
    }
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert (
        job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
        == runtime.deps.settings.training_key_arn
    )
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=job["ProcessingJobArn"])["Tags"]}
    assert (tags["seam:stage"], tags["seam:run-id"]) == ("local", second.run_id)

    # The challenger: trained by image B, which got no champion channel.
    training = sm.describe_training_job(TrainingJobName=second.run_id)
    assert training["AlgorithmSpecification"]["TrainingImage"] == IMAGE_B
    assert {c["ChannelName"] for c in training["InputDataConfig"]} == {"train", "holdout"}

    # Both on the same holdout rows, with the holdout's labels; decided paired; the record says how.
    gate = second.evaluation
    assert gate and gate.paired and gate.paired.champion is not None
    assert (gate.champion_scored_by, gate.champion_scoring_job) == ("processing job", name)
    assert gate.champion_version == "000001"
    assert gate.paired.rows == holdout.rows
    assert gate.paired.decided_on == "interval lower bound"
    assert gate.decision == "promote" and gate.paired.champion < gate.challenger
    predictions = boto3.client("s3").get_object(
        Bucket=bucket, Key=f"runs/{second.run_id}/champion/predictions.csv"
    )
    rows = list(csv.DictReader(io.StringIO(predictions["Body"].read().decode())))
    assert [r["row_id"] for r in rows] == [str(i) for i in range(holdout.rows)]
    assert second.cost and second.cost.parts["champion_scoring"].quantity >= 1
