"""`seam models put` onboards a model without a redeploy; bad configs are refused with the field named."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from seam.dependencies import Dependencies
from seam.models.run import RunStatus
from seam.models.serving_target import ServingTarget
from seam_cli.main import app
from typer.testing import CliRunner

from tests.workflow.harness import GOOD_CSV, Harness, model_config, sqs_event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn" / "model.yaml"
EXAMPLE_TARGET = ServingTarget(
    cluster="seam-local", namespace="ml-serving", deployment="churn-predictor", container="model"
)
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(autouse=True)
def cli_serving(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds its own Dependencies (seam_cli.context.configure): they read serving from the
    harness's in-memory cluster too, which holds the example's Deployment."""
    monkeypatch.setattr(Dependencies, "serving", property(lambda _deps: harness.serving))
    harness.serving.add(EXAMPLE_TARGET, image="registry/churn:previous")


def test_models_put_onboards_the_example_and_a_drop_then_starts_a_run(harness: Harness) -> None:
    result = runner.invoke(app, ["models", "put", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "model churn saved" in result.output
    assert harness.deps.models.get("churn").evaluation.metric == "validation:auc"

    harness.trigger(harness.object_created_event("datasets/churn/new.csv", GOOD_CSV))
    assert len(harness.executions()) == 1

    for command in (["models", "list"], ["models"]):
        listing = runner.invoke(app, command)
        assert listing.exit_code == 0 and "churn" in listing.output and "growth" in listing.output


def test_models_put_refuses_an_invalid_config_naming_the_field(harness: Harness, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("@sha256:", ":latest-"))  # not pinned by digest
    result = runner.invoke(app, ["models", "put", str(bad)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: training.image must be pinned by an @sha256 digest (")
    assert "<64 hex>" in result.stderr and "[A-Za-z" not in result.stderr  # what is right, not the regex
    assert len(result.stderr.splitlines()) == 1
    with pytest.raises(Exception, match="not onboarded"):
        harness.deps.models.get("churn")


MISTAKES = {
    "gate metric not reported by training": (  # nor one Seam computes from the holdout's predictions
        ('metric: "validation:auc"', 'metric: "validation:lift"'),
        "evaluation.metric 'validation:lift' is not one of training.metric_definitions "
        "(validation:accuracy, validation:auc)",
    ),
    "label column not among the columns": (
        ("label_column: churned", "label_column: churn"),
        "validation.label_column 'churn' is not among validation.columns",
    ),
    "cluster not allowed in this stack": (
        ("cluster: seam-local", "cluster: prod-serving"),
        "serving.cluster 'prod-serving' is not an allowed serving cluster of this stack "
        "(allowed: seam-local)",
    ),
    "serving Deployment missing": (
        ("deployment: churn-predictor", "deployment: churn-server"),
        "ml-serving/churn-server/model in cluster seam-local",
    ),
    "serving container missing": (
        ("container: model", "container: predictor"),
        "serving.container 'predictor' is not a container of deployment ml-serving/churn-predictor",
    ),
    "training image not in its registry": (  # no ECR repository (locally: no image folder) of that name
        ("amazonaws.com/churn@", "amazonaws.com/churn-nowhere@"),
        "training.image 123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-nowhere@sha256:4f2c9a7e1b3d5f6071"
        "8293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7 cannot be pulled: its repository churn-nowhere "
        "does not exist in registry 123456789012; push the image and pin the digest ECR reports",
    ),
}


def test_models_put_refuses_a_deployment_seams_deployer_may_not_patch(harness: Harness) -> None:
    # The cluster's RBAC does not let group seam-deployer patch it (a LocalSubjectAccessReview says no).
    harness.serving.forbidden.add(("seam-local", "ml-serving", "churn-predictor"))

    result = runner.invoke(app, ["models", "put", str(EXAMPLE)])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: serving.deployment: group seam-deployer (Seam's deployer) may not patch deployment "
        "ml-serving/churn-predictor in cluster seam-local; grant it get and patch on that Deployment: "
        "manifests/seam-deployer-rbac.yaml with namespace ml-serving and resourceNames [churn-predictor]"
    ]
    assert harness.deps.models.list(fresh=True) == []


@pytest.mark.parametrize("mistake", MISTAKES)
def test_models_put_refuses_what_would_fail_after_training_and_saves_nothing(
    harness: Harness, tmp_path: Path, mistake: str
) -> None:
    (old, new), expected = MISTAKES[mistake]
    assert old in EXAMPLE.read_text()
    config = tmp_path / "model.yaml"
    config.write_text(EXAMPLE.read_text().replace(old, new))

    result = runner.invoke(app, ["models", "put", str(config)])

    assert result.exit_code == 1, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("error: ")
    ]
    assert expected in result.stderr
    with pytest.raises(Exception, match="not onboarded"):
        harness.deps.models.get("churn")
    assert harness.deps.models.list(fresh=True) == []


def test_models_put_names_every_problem_on_its_own_line(harness: Harness, tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for (old, new), _ in MISTAKES.values():
        if "cluster" not in old:  # an unknown cluster is not looked into for its Deployment
            text = text.replace(old, new)
    config = tmp_path / "model.yaml"
    config.write_text(text)

    result = runner.invoke(app, ["models", "put", str(config)])

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 4, lines  # gate metric, label column, image, Deployment (before its container)
    assert [line.split(" ")[1] for line in lines] == [
        "evaluation.metric",
        "validation.label_column",
        "training.image",
        "serving:",
    ]


def test_models_put_warns_when_the_warm_pool_would_expire_between_retrains(
    harness: Harness, tmp_path: Path
) -> None:
    assert "warning" not in runner.invoke(app, ["models", "put", str(EXAMPLE)]).output  # 15 min, 900 s pool
    hourly = tmp_path / "hourly.yaml"
    hourly.write_text(EXAMPLE.read_text().replace("retrain_every_minutes: 15", "retrain_every_minutes: 60"))
    result = runner.invoke(app, ["models", "put", str(hourly)])
    assert result.exit_code == 0, result.output
    assert harness.deps.models.get("churn").retrain_every_minutes == 60  # saved: a warning, not a refusal
    assert "model churn saved" in result.stdout and "warning" not in result.stdout
    assert "warm pool of churn expires" in result.stderr
    assert "warm_pool_keep_alive_seconds: 3600 would hold it" in result.stderr  # no training measured yet


def test_runs_show_names_the_failing_rule(harness: Harness) -> None:
    runner.invoke(app, ["models", "put", str(EXAMPLE)])
    harness.drop("churn", body="tenure_months,churned\n1,0\n")
    run_id = harness.only_run_id()
    harness.wait_execution(run_id)

    shown = runner.invoke(app, ["runs", "show", run_id])
    assert shown.exit_code == 0, shown.output
    assert "FAILED" in shown.output and "DataValidationError" in shown.output and "columns" in shown.output
    listed = runner.invoke(app, ["runs"])
    assert run_id in listed.output


def test_runs_lists_the_metric_the_gate_decided_on(harness: Harness) -> None:
    harness.onboard(model_config())  # the gate: validation:auc
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)
    metrics = {"validation:accuracy": 0.61, "validation:auc": 0.92}  # accuracy sorts first
    event = harness.training_event(run_id, "Completed", metrics)
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(event)) == {"batchItemFailures": []}
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"

    listed = runner.invoke(app, ["runs"])

    assert listed.exit_code == 0, listed.output
    assert "validation:auc=0.9200" in listed.output and "validation:accuracy" not in listed.output


# -- output for people and for scripts ----------------------------------------------------------------

LONG_CAUSE_CSV = "tenure_months,churned\n1,0\n"  # the example's rules refuse it: a cause far over 60 chars


def failed_run(harness: Harness) -> str:
    assert runner.invoke(app, ["models", "put", str(EXAMPLE)]).exit_code == 0
    harness.drop("churn", body=LONG_CAUSE_CSV)
    run_id = harness.only_run_id()
    harness.wait_execution(run_id)
    return run_id


def test_runs_piped_keeps_every_cell_whole_in_plain_columns(harness: Harness) -> None:
    run_id = failed_run(harness)
    cause = harness.run(run_id).cause
    assert cause and len(cause) > 80

    listed = runner.invoke(app, ["runs"], env={"COLUMNS": "80"})  # CliRunner's stdout is not a terminal

    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["RUN", "MODEL", "TRIGGER", "STATUS", "STARTED", "METRIC", "VERSION", "REASON"]
    matching = [row for row in rows if "FAILED" in row]  # `seam runs | grep FAILED`
    assert len(matching) == 1 and matching[0].startswith(run_id + " ")
    assert matching[0].endswith(" " + " ".join(cause.split()))  # the whole reason, on the row's one line
    assert "…" not in listed.stdout and "\x1b[" not in listed.stdout  # no cut cells, no colour codes
    assert header.index("REASON") == matching[0].index(cause.split()[0])  # aligned columns


def test_runs_and_runs_show_as_json(harness: Harness) -> None:
    run_id = failed_run(harness)

    listed = runner.invoke(app, ["runs", "--output", "json"])
    shown = runner.invoke(app, ["runs", "show", run_id, "-o", "json"])

    assert listed.exit_code == 0 and shown.exit_code == 0, listed.output + shown.output
    (row,) = json.loads(listed.stdout)
    assert row["run_id"] == run_id and row["status"] == "FAILED" and row["trigger"] == "data"
    assert row["reason"] == harness.run(run_id).cause and row["gate"] is None and row["version"] is None
    detail = json.loads(shown.stdout)
    assert {k: detail[k] for k in row} == row  # a show is the row and more
    assert detail["dataset"]["key"].startswith("datasets/churn/") and detail["cause"].startswith(
        "DataValidationError"
    )
    assert [s["status"] for s in detail["states"]][:2] == ["STARTED", "VALIDATING"]
    assert detail["states"][-1]["status"] == "FAILED"


def test_a_superseded_request_shows_in_runs_and_runs_show_and_not_in_cost(harness: Harness) -> None:
    harness.onboard(model_config())
    harness.drop("churn", name="holder")  # trains: holds the lock until its job ends
    [holder_run] = [r.run_id for r in harness.deps.runs.list_for_model("churn")]
    harness.wait_for_training(holder_run)
    older, newer = (harness.object_created_event(f"datasets/churn/{n}.csv", GOOD_CSV) for n in ("b", "c"))
    assert harness.trigger(older) == {"batchItemFailures": []}  # waits as the pending retrain
    assert harness.trigger(newer) == {"batchItemFailures": []}  # takes its place
    lock = harness.deps.locks.get("churn")
    assert lock is not None and lock.pending is not None
    superseded = next(r for r in harness.deps.runs.list_for_model("churn") if r.status == "SUPERSEDED")

    table = runner.invoke(app, ["runs"])
    listed = runner.invoke(app, ["runs", "-o", "json"])
    shown = runner.invoke(app, ["runs", "show", superseded.run_id])
    shown_json = runner.invoke(app, ["runs", "show", superseded.run_id, "-o", "json"])
    cost = runner.invoke(app, ["cost", "-o", "json"])

    [row] = [line for line in table.stdout.splitlines() if "SUPERSEDED" in line]  # `seam runs | grep`
    assert row.startswith(superseded.run_id + " ") and f"superseded by {lock.pending.run_id}" in row
    [summary] = [r for r in json.loads(listed.stdout) if r["status"] == "SUPERSEDED"]
    assert (summary["run_id"], summary["trigger"], summary["superseded_by"]) == (
        superseded.run_id,
        "data",
        lock.pending.run_id,
    )
    assert f"superseded by {lock.pending.run_id}" in shown.stdout and "datasets/churn/b.csv" in shown.stdout
    detail = json.loads(shown_json.stdout)
    assert detail["dataset"]["key"] == "datasets/churn/b.csv" and "execution" not in detail["links"]
    assert superseded.run_id not in {r["run_id"] for r in json.loads(cost.stdout)["runs"]}
    assert harness.deps.locks.get("churn").holder == holder_run  # type: ignore[union-attr]


def deployed_champion(harness: Harness) -> str:
    harness.onboard(model_config())  # the gate: validation:auc
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)
    event = harness.training_event(run_id, "Completed", {"validation:auc": 0.92})
    assert harness.stack.invoke("TrainingCallbackFunction", sqs_event(event)) == {"batchItemFailures": []}
    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.run(run_id).status == "DEPLOYED"
    return run_id


def test_models_show_says_what_serves_now(harness: Harness) -> None:
    harness.onboard(model_config())
    before = runner.invoke(app, ["models", "show", "churn", "--output", "json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout)["champion"] is None

    run_id = deployed_champion(harness)
    run = harness.run(run_id)
    shown = runner.invoke(app, ["models", "show", "churn", "--output", "json"])
    table = runner.invoke(app, ["models", "show", "churn"])

    assert shown.exit_code == 0 and table.exit_code == 0, shown.output + table.output
    now = json.loads(shown.stdout)["champion"]
    assert now["version"] == run.model_version and now["value"] == 0.92 and now["run_id"] == run_id
    assert now["metric"] == "validation:auc" and now["image"] == model_config().training.image
    assert now["dataset"]["uri"] == run.dataset.uri and now["dataset"]["etag"] == run.dataset.etag
    assert now["training_job_name"] == run.training_job_name and now["since"]
    assert f"champion {run.model_version}  validation:auc=0.9200  since " in table.stdout
    assert model_config().training.image in table.stdout and run.dataset.uri in table.stdout

    listed = runner.invoke(app, ["models", "--output", "json"])
    (model,) = json.loads(listed.stdout)
    assert model["model"] == "churn" and model["champion"] == {"version": run.model_version, "value": 0.92}
    assert model["serving"]["deployment"] == "churn-predictor"


# -- honest errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["trigger", "unknown-model"], "error: model 'unknown-model' is not onboarded"),
        (["models", "show", "unknown-model"], "error: model 'unknown-model' is not onboarded"),
        (["runs", "show", "no-such-run"], "error: no run 'no-such-run'"),
        (["models", "put", "/no/such/model.yaml"], "error: cannot read /no/such/model.yaml"),
    ],
)
def test_errors_are_one_line_on_stderr_and_a_non_zero_exit(
    harness: Harness, command: list[str], message: str
) -> None:
    result = runner.invoke(app, command)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert isinstance(result.exception, SystemExit)  # typer's exit with the code, nothing else escaped


def test_trigger_prints_the_run_id_the_trigger_starts(harness: Harness) -> None:
    harness.onboard(model_config())
    result = runner.invoke(app, ["trigger", "churn", "--reason", "new features"])
    assert result.exit_code == 0, result.output
    run_id = result.stdout.split("run ")[-1].strip()

    sqs = harness.stack.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=harness.stack.queue_url("TriggerQueue"))["Messages"]
    assert harness.trigger(message["Body"]) == {"batchItemFailures": []}  # as the queue delivers it

    assert [e["name"] for e in harness.executions()] == [run_id]
    started = harness.run(run_id)
    assert started.model == "churn" and started.trigger == "manual"


def test_an_unexpected_failure_is_one_line_too(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import NoCredentialsError
    from seam_cli import main

    harness.onboard(model_config())
    harness.drop("churn")  # a run to list
    configure = main.configure

    def no_credentials(_stack: str | None) -> None:
        raise NoCredentialsError()

    monkeypatch.setattr(main, "configure", no_credentials)
    result = runner.invoke(app, ["runs"])
    assert result.exit_code == 1 and result.stderr == "error: Unable to locate credentials\n"

    monkeypatch.setattr(main, "configure", configure)
    monkeypatch.setattr(main.views, "run_summary", lambda _run: 1 / 0)
    result = runner.invoke(app, ["runs"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unexpected ZeroDivisionError: division by zero (SEAM_DEBUG=1 shows the traceback)\n"
    )
    monkeypatch.setenv("SEAM_DEBUG", "1")
    assert isinstance(runner.invoke(app, ["runs"]).exception, ZeroDivisionError)


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """The real entry point, not CliRunner (typer runs its own copy of click: its Exit is the one to use)."""
    seam = Path(sys.executable).parent / "seam"
    broken = tmp_path / "model.yaml"
    broken.write_text(
        EXAMPLE.read_text().replace("@sha256:", ":latest-").replace("name: churn", "name: Churn")
    )
    result = subprocess.run([seam, "models", "put", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(" ")[:2] for line in lines] == [["error:", "name"], ["error:", "training.image"]]


def test_trigger_a_named_dataset_and_force_a_retrain_on_the_data_the_champion_saw(harness: Harness) -> None:
    harness.onboard(model_config())
    # A minute ago: a `seam trigger` in the very second of a drop would be older than the drop (a drop
    # is the last thing in its second: RunRequest.order) and superseded by it.
    drop = harness.object_created_event("datasets/churn/first.csv", GOOD_CSV)
    drop["time"] = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert harness.trigger(drop) == {"batchItemFailures": []}
    first = harness.only_run_id()
    harness.finish_training(first, auc=0.9)
    assert harness.wait_execution(first)["status"] == "SUCCEEDED"
    sqs = harness.stack.client("sqs")

    def triggered(*extra: str) -> str:
        result = runner.invoke(app, ["trigger", "churn", "--dataset", "datasets/churn/first.csv", *extra])
        assert result.exit_code == 0, result.output
        (message,) = sqs.receive_message(QueueUrl=harness.stack.queue_url("TriggerQueue"))["Messages"]
        assert harness.trigger(message["Body"]) == {"batchItemFailures": []}
        return result.stdout.split()[-1]

    unforced = triggered()
    assert harness.wait_execution(unforced)["status"] == "SUCCEEDED"
    assert harness.run(unforced).status is RunStatus.SKIPPED  # the champion was trained on it

    forced = triggered("--force")
    harness.finish_training(forced, auc=0.95)
    assert harness.wait_execution(forced)["status"] == "SUCCEEDED"
    run = harness.run(forced)
    assert run.status is RunStatus.DEPLOYED and run.dataset and run.dataset.key == "datasets/churn/first.csv"
    assert run.dataset.version_id == harness.run(first).dataset.version_id  # type: ignore[union-attr]

    elsewhere = runner.invoke(app, ["trigger", "churn", "--dataset", "datasets/other/x.csv"])
    assert elsewhere.exit_code == 1 and "is not under datasets/churn/" in elsewhere.stderr
