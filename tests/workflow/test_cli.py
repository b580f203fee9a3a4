"""`seam models put` onboards a model without a redeploy; bad configs are refused with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from seam.dependencies import Dependencies
from seam.models.model_config import ServingTarget
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
    "gate metric not reported by training": (
        ('metric: "validation:auc"', 'metric: "validation:f1"'),
        "evaluation.metric 'validation:f1' is not one of training.metric_definitions "
        "(validation:accuracy, validation:auc)",
    ),
    "label column not among the columns": (
        ("label_column: churned", "label_column: churn"),
        "validation.label_column 'churn' is not among validation.columns",
    ),
    "cluster not allowed in this stack": (
        ("cluster: seam-local", "cluster: prod-serving"),
        "serving.cluster 'prod-serving' is not an allowed serving cluster of this stack (allowed: seam-local)",
    ),
    "serving Deployment missing": (
        ("deployment: churn-predictor", "deployment: churn-server"),
        "ml-serving/churn-server/model in cluster seam-local",
    ),
    "serving container missing": (
        ("container: model", "container: predictor"),
        "serving.container 'predictor' is not a container of deployment ml-serving/churn-predictor",
    ),
}


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
    assert len(lines) == 3, lines  # gate metric, label column, Deployment (checked before its container)
    assert [line.split(" ")[1] for line in lines] == [
        "evaluation.metric",
        "validation.label_column",
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
