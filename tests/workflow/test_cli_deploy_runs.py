"""`seam approve / reject / rollback / runs retry / lineage` as a person uses them: each prints the run
it starts, the event or queue message does the rest, bad input is one line and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seam.dependencies import Dependencies
from seam.models.run import RunStatus
from seam_cli.main import app
from seam_local.moto_hooks import package_event
from typer.testing import CliRunner

from tests.workflow.harness import Harness
from tests.workflow.test_deploy_runs import manual, register, serving_version

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(autouse=True)
def cli_serving(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Dependencies, "serving", property(lambda _deps: harness.serving))


def seam(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1 and result.stdout == "", result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr


def deliver_approval(h: Harness, version: str) -> None:
    """The registry's event for the change, as the approval queue delivers it."""
    event = package_event(h.package_arn("churn", version), account="123456789012", region="us-east-1")
    assert h.trigger(event) == {"batchItemFailures": []}


def deliver_queued(h: Harness) -> None:
    """What the CLI put on the trigger queue, as its event source mapping delivers it."""
    sqs = h.stack.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=h.stack.queue_url("TriggerQueue"))["Messages"]
    assert h.trigger(message["Body"]) == {"batchItemFailures": []}


def caller(h: Harness) -> str:
    return str(h.stack.client("sts").get_caller_identity()["Arn"])


def approve(h: Harness, version: str, *extra: str) -> str:
    out = seam("approve", "churn", version.lstrip("0"), "--note", "ok by me", *extra)
    assert out.startswith(f"version {version} of churn approved: deploy run ")
    run_id = out.split()[-1]
    deliver_approval(h, version)
    assert h.wait_execution(run_id)["status"] == "SUCCEEDED"
    return run_id


def test_approve_deploys_and_runs_show_names_who_approved(harness: Harness) -> None:
    harness.onboard(manual())
    _, version = register(harness, auc=0.9)

    run_id = approve(harness, version)

    shown: dict[str, Any] = json.loads(seam("runs", "show", run_id, "--output", "json"))
    assert (shown["status"], shown["trigger"], shown["version"]) == ("DEPLOYED", "approval", version)
    assert shown["decision"]["by"] == caller(harness) and shown["decision"]["note"] == "ok by me"
    assert shown["deploy"] == {
        "kind": "approval",
        "version": version,
        "model_package_arn": harness.package_arn("churn", version),
        "requested_by": None,  # an approval's approver is read from the registry, in `decision`
        "note": "",
    }
    assert f"approved version {version} by {caller(harness)}" in seam("runs", "show", run_id)
    assert serving_version(harness) == version


def test_bad_input_is_one_line_and_changes_nothing(harness: Harness) -> None:
    harness.onboard(manual())
    _, version = register(harness, auc=0.9)
    assert "model churn has no version 000009" in refused("approve", "churn", "9")
    assert "model 'nope' is not onboarded" in refused("approve", "nope", "1")
    assert "no version of churn serves: nothing to roll back" in refused("rollback", "churn", "--reason", "x")
    assert "no run 'seam-churn-000000000000'" in refused("runs", "retry", "seam-churn-000000000000")
    assert "give a MODEL, or --dataset" in refused("lineage")
    assert harness.approval_status("churn", version) == "PendingManualApproval"
    assert (
        harness.stack.client("sqs")
        .receive_message(QueueUrl=harness.stack.queue_url("TriggerQueue"))
        .get("Messages")
        is None
    )


def test_reject_then_approve_is_refused(harness: Harness) -> None:
    harness.onboard(manual())
    registering, version = register(harness, auc=0.9)

    assert seam("reject", "churn", version, "--reason", "leaks the label").startswith(
        f"version {version} of churn rejected (run {registering} records it)"
    )
    deliver_approval(harness, version)  # the Rejected change's event: recorded, nothing started

    assert "was rejected (leaks the label)" in refused("approve", "churn", version)
    shown = json.loads(seam("runs", "show", registering, "--output", "json"))
    assert [(d["action"], d["by"], d["note"]) for d in shown["decisions"]] == [
        ("reject", caller(harness), "leaks the label")
    ]


def test_rollback_and_lineage(harness: Harness) -> None:
    harness.onboard(manual())
    first_run, first = register(harness, auc=0.9)
    approve(harness, first)
    _, second = register(harness, auc=0.95)
    approve(harness, second)

    out = seam("rollback", "churn", "--reason", "latency")
    assert out.startswith(f"rollback of churn to version {first} requested: run ")
    run_id = out.split()[-1]
    deliver_queued(harness)
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.run(run_id).status is RunStatus.DEPLOYED and serving_version(harness) == first

    [traced] = json.loads(seam("lineage", "churn", "--version", first, "--output", "json"))
    assert traced["serving"] is True and traced["trigger"]["run_id"] == first_run
    assert traced["trigger"]["kind"] == "data" and traced["trigger"]["intent"].startswith(
        "data|datasets/churn/"
    )
    assert traced["training"]["job_name"] == first_run and traced["training"]["digest"].startswith("sha256:")
    assert traced["model_package_arn"] == harness.package_arn("churn", first)
    deployed = [(d["trigger"], d["decided_by"], d["cluster"], d["deployment"]) for d in traced["deployments"]]
    assert deployed == [
        ("approval", caller(harness), "seam-local", "churn-predictor"),
        ("rollback", caller(harness), "seam-local", "churn-predictor"),
    ]
    assert all(isinstance(d["generation"], int) for d in traced["deployments"])
    assert len(json.loads(seam("lineage", "churn", "--output", "json"))) == 2
    assert f"churn {first}" in seam("lineage", "churn")

    data = traced["dataset"]
    uri = f"s3://{data['bucket']}/{data['key']}?versionId={data['version_id']}"
    reverse = json.loads(seam("lineage", "--dataset", uri, "--output", "json"))
    assert [(v["model"], v["version"], v["serving"]) for v in reverse["versions"]] == [("churn", first, True)]
    assert reverse["live_deployments"] == [
        {
            "model": "churn",
            "version": first,
            "cluster": "seam-local",
            "namespace": "ml-serving",
            "deployment": "churn-predictor",
            "container": "model",
        }
    ]


def test_runs_retry_starts_a_failed_run_again(harness: Harness) -> None:
    harness.onboard(manual())
    harness.drop("churn", at=datetime.now(UTC) - timedelta(seconds=10))  # a retry comes seconds later
    [failed] = [r.run_id for r in harness.deps.runs.list_for_model("churn")]
    harness.finish_training(failed, status="Failed", failure_reason="boom")
    assert harness.wait_execution(failed)["status"] == "FAILED"

    out = seam("runs", "retry", failed)
    run_id = out.split()[-1]
    deliver_queued(harness)
    harness.finish_training(run_id, auc=0.9)
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert json.loads(seam("runs", "show", run_id, "--output", "json"))["retry_of"] == failed
    assert f"retry of {failed}" in seam("runs", "show", run_id)
