"""A run trains on exactly the bytes Validate checked, and only on its own model's data (issue 14, item 3).

- an object overwritten after Validate: training still reads the validated version (Validate copied it,
  by version id and ETag, to runs/<run>/train/);
- a sibling key with the same prefix (a.csv and a.csv.bak): the training channel is the run's own folder,
  so only the validated object is in it (the former channel, an S3Prefix on the dataset's key, took both);
- a queued request naming another model's data: Validate refuses it before reading it
  (ForeignDatasetError), nothing trains, the lock is released.
"""

from __future__ import annotations

from typing import Any

import pytest
from seam.models.events import QueuedRequest
from seam.models.run import DatasetRef, RunRequest, RunStatus, TriggerKind

from tests.reliability.conftest import Figure
from tests.reliability.test_scenarios import drop_event, onboard, run_ids_for, wait_all
from tests.stored import stored_versions
from tests.workflow.harness import GOOD_CSV, Harness

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

OTHER_CSV = "tenure,charges,churned\n" + "".join(f"{i},{i * 9.5},1\n" for i in range(40))  # valid, other rows


def channel_objects(h: Harness, run_id: str) -> dict[str, bytes]:
    """What SageMaker downloads into the `train` channel: every object under the channel's S3Prefix."""
    job = h.stack.client("sagemaker").describe_training_job(TrainingJobName=run_id)
    [uri] = [
        c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in job["InputDataConfig"]
        if c["ChannelName"] == "train"
    ]
    return prefix_objects(h, uri)


def prefix_objects(h: Harness, uri: str) -> dict[str, bytes]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3 = h.stack.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_an_object_overwritten_after_validate_is_not_what_trains(harness: Harness, figure: Figure) -> None:
    onboard(harness, "over")
    event = drop_event(harness, "over", "a", GOOD_CSV)
    [run_id] = run_ids_for(harness, event)
    harness.trigger(event)
    harness.wait_for_training(run_id)  # Validate is done, the job created
    validated = harness.run(run_id).snapshot
    assert validated is not None
    overwrite = harness.stack.client("s3").put_object(
        Bucket=harness.bucket, Key="datasets/over/a.csv", Body=OTHER_CSV.encode()
    )  # its event is not delivered: this run is about the object under the running job

    trained = channel_objects(harness, run_id)
    harness.finish_training(run_id)
    assert wait_all(harness, [run_id]) == {run_id: "SUCCEEDED"}

    run = harness.run(run_id)
    [version] = stored_versions(harness.deps.versions, "over")
    assert run.status is RunStatus.DEPLOYED
    assert list(trained.values()) == [GOOD_CSV.encode()]
    assert validated.source.version_id == event["detail"]["object"]["version-id"] != overwrite["VersionId"]
    assert version.dataset.version_id == validated.source.version_id
    assert version.dataset.etag == validated.source.etag != overwrite["ETag"].strip('"')
    figure.scenario = "object overwritten after Validate"
    figure.injected = (
        "the dataset object overwritten (new version, other rows) after Validate, before training"
    )
    figure.expected = "training reads the validated version only; the registered lineage names it"
    figure.observed = (
        f"train channel {len(trained)} object ({next(iter(trained))}), bytes = validated version "
        f"{validated.source.version_id[:8]}…, not the overwrite {overwrite['VersionId'][:8]}…; run "
        f"{run.status.value}, version {version.version} lineage version id and ETag = validated"
    )


def test_a_sibling_key_with_the_same_prefix_is_not_trained_on(harness: Harness, figure: Figure) -> None:
    onboard(harness, "sib")
    harness.stack.client("s3").put_object(
        Bucket=harness.bucket, Key="datasets/sib/a.csv.bak", Body=b"tenure,charges,churned\nbackup,x,9\n"
    )  # written without an event: a file beside the dataset
    event = drop_event(harness, "sib", "a", GOOD_CSV)
    [run_id] = run_ids_for(harness, event)
    harness.trigger(event)
    harness.wait_for_training(run_id)

    trained = channel_objects(harness, run_id)
    former = prefix_objects(harness, f"s3://{harness.bucket}/datasets/sib/a.csv")  # the former channel
    harness.finish_training(run_id)
    assert wait_all(harness, [run_id]) == {run_id: "SUCCEEDED"}

    assert sorted(former) == ["datasets/sib/a.csv", "datasets/sib/a.csv.bak"]
    assert list(trained) == [f"runs/{run_id}/train/a.csv"] and list(trained.values()) == [GOOD_CSV.encode()]
    assert harness.run(run_id).status is RunStatus.DEPLOYED
    figure.scenario = "sibling key with the same prefix"
    figure.injected = "datasets/<model>/a.csv.bak beside the dropped a.csv (same key prefix)"
    figure.expected = "the train channel holds a.csv's validated bytes only"
    names = ", ".join(key.rsplit("/", 1)[-1] for key in former)
    figure.observed = (
        f"an S3Prefix on the key would match {len(former)} objects ({names}); "
        f"the run's channel runs/<run>/train/ holds {len(trained)} (a.csv, validated bytes); run DEPLOYED"
    )


def test_a_queued_request_naming_another_models_data_trains_nothing(harness: Harness, figure: Figure) -> None:
    onboard(harness, "mine")
    onboard(harness, "theirs")
    harness.stack.client("s3").put_object(
        Bucket=harness.bucket, Key="datasets/theirs/secret.csv", Body=GOOD_CSV.encode()
    )
    request = RunRequest(
        stage=harness.deps.settings.stage,
        model="mine",
        trigger=TriggerKind.SCHEDULE,
        intent="mine|slot-1",
        dataset=DatasetRef(bucket=harness.bucket, key="datasets/theirs/secret.csv"),
    )
    assert harness.trigger(QueuedRequest.body(request)) == {"batchItemFailures": []}

    statuses: dict[str, Any] = wait_all(harness, [request.run_id])
    run = harness.run(request.run_id)
    assert statuses == {request.run_id: "FAILED"}
    assert run.status is RunStatus.FAILED and run.error == "ForeignDatasetError"
    assert "datasets/theirs/secret.csv is not under" in (run.cause or "")
    assert run.training_job_name is None and run.snapshot is None
    assert harness.deps.tokens.get(request.run_id) is None  # no job was launched
    assert harness.deps.locks.get("mine") is None
    assert stored_versions(harness.deps.versions, "mine") == []
    figure.scenario = "queued request naming another model's data"
    figure.injected = (
        "a seam.trigger (queued) request for model mine whose dataset is datasets/theirs/secret.csv"
    )
    figure.expected = "Validate refuses it by name before reading it; nothing trains; lock released"
    figure.observed = (
        f"run {run.status.value} {run.error} ({(run.cause or '')[21:90]}…); no training job, no token, "
        "no snapshot, lock released, nothing registered"
    )
