"""`seam models put` onboards a model without a redeploy; bad configs are refused with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest
from seam_cli.main import app
from typer.testing import CliRunner

from tests.workflow.harness import GOOD_CSV, Harness, model_config, sqs_event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn" / "model.yaml"
runner = CliRunner(env={"COLUMNS": "200"})


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
    assert result.exit_code != 0
    assert "training.image" in result.output
    with pytest.raises(Exception, match="not onboarded"):
        harness.deps.models.get("churn")


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
