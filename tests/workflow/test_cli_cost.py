"""`seam cost` sums what runs cost, by model and team, from the costs Finalize recorded; `seam runs show`
shows a run's cost by part and where to follow it (console links on AWS, files locally)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from seam.dependencies import Dependencies
from seam_cli.main import app
from seam_cli.views import WORKFLOW_FUNCTIONS
from typer.testing import CliRunner

from tests.template.test_template import load_raw, resources
from tests.workflow.harness import Harness, model_config
from tests.workflow.test_retrain_workflow import deploy_first_version

runner = CliRunner(env={"COLUMNS": "250"})
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn" / "model.yaml"


@pytest.fixture(autouse=True)
def cli_serving(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Dependencies, "serving", property(lambda _deps: harness.serving))
    monkeypatch.delenv("SEAM_LOCAL_STATE_DIR", raising=False)


def two_teams_runs(harness: Harness) -> tuple[str, str]:
    harness.onboard(model_config())  # team growth
    churn = deploy_first_version(harness)
    harness.onboard(model_config("fraud", team="risk"))
    harness.drop("fraud")
    fraud = harness.only_run_id("fraud")
    harness.finish_training(fraud)
    assert harness.wait_execution(fraud)["status"] == "SUCCEEDED"
    return churn, fraud


def test_cost_as_json_gives_every_runs_cost_with_its_parts_and_the_sums(harness: Harness) -> None:
    churn, fraud = two_teams_runs(harness)

    result = runner.invoke(app, ["cost", "--output", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {row["run_id"]: row for row in report["runs"]}
    assert set(rows) == {churn, fraud}
    for run_id, team in ((churn, "growth"), (fraud, "risk")):
        cost = rows[run_id]["cost"]
        assert rows[run_id]["team"] == team and cost["total_usd"] > 0
        assert set(cost["parts"]) == {"training", "lambda_compute", "lambda_requests", "step_functions"}
        assert cost["total_usd"] == harness.run(run_id).cost.total_usd  # type: ignore[union-attr]
    assert report["total_usd"] == pytest.approx(sum(r["cost"]["total_usd"] for r in rows.values()))
    assert set(report["by_model_usd"]) == {"churn", "fraud"}
    assert report["runs_costed"] == 2 and report["runs_cost_unknown"] == []

    by_team = json.loads(runner.invoke(app, ["cost", "--team", "risk", "-o", "json"]).stdout)
    assert [r["run_id"] for r in by_team["runs"]] == [fraud]
    by_model = json.loads(runner.invoke(app, ["cost", "--model", "churn", "-o", "json"]).stdout)
    assert [r["run_id"] for r in by_model["runs"]] == [churn]
    later = json.loads(runner.invoke(app, ["cost", "--since", "2999-01-01", "-o", "json"]).stdout)
    assert later["runs"] == [] and later["total_usd"] == 0


def test_cost_as_a_table_has_one_row_per_run_and_the_total(harness: Harness) -> None:
    churn, fraud = two_teams_runs(harness)
    result = runner.invoke(app, ["cost"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["RUN", "MODEL", "TEAM", "STATUS"]
    assert {line.split()[0] for line in lines[1:3]} == {churn, fraud}
    assert lines[-1].startswith("total    $") and "over 2 run(s)" in lines[-1]


def test_a_bad_since_is_refused_naming_the_option(harness: Harness) -> None:
    result = runner.invoke(app, ["cost", "--since", "last week"])
    assert result.exit_code != 0 and "--since" in result.output


def test_runs_show_has_the_cost_by_part_and_the_console_links(harness: Harness) -> None:
    harness.onboard(model_config())
    run_id = deploy_first_version(harness)

    shown = json.loads(runner.invoke(app, ["runs", "show", run_id, "-o", "json"]).stdout)
    assert shown["cost"]["total_usd"] == harness.run(run_id).cost.total_usd  # type: ignore[union-attr]
    links = shown["links"]
    region = "us-east-1"
    assert links["execution"] == (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/"
        f"{harness.execution_arn(run_id)}"
    )
    assert "logs-insights" in links["lambda_logs"] and run_id in links["lambda_logs"]
    assert "*2faws*2flambda*2fseam-test-finalize" in links["lambda_logs"]  # each function's log group
    assert links["training_job"].endswith(f"#/jobs/{run_id}")
    assert links["training_logs"].endswith(f"TrainingJobs$3FlogStreamNameFilter$3D{run_id}")

    table = runner.invoke(app, ["runs", "show", run_id]).stdout
    assert "cost     $" in table and "training $" in table and "step_functions $" in table
    assert f"execution https://{region}.console" in table


def test_runs_show_points_at_the_local_runtimes_files_locally(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    harness.onboard(model_config())
    run_id = deploy_first_version(harness)
    monkeypatch.setenv("SEAM_LOCAL_STATE_DIR", str(tmp_path))

    links = json.loads(runner.invoke(app, ["runs", "show", run_id, "-o", "json"]).stdout)["links"]
    assert links["lambda_logs"] == f"grep {run_id} {tmp_path / 'lambda.log'}"
    assert links["training_logs"] == str(tmp_path / "sagemaker" / "logs" / f"{run_id}.log")
    assert links["execution"].endswith(harness.execution_arn(run_id))


def test_the_log_groups_linked_are_the_stacks_functions_that_log_a_runs_lines() -> None:
    functions = resources(load_raw(), "AWS::Serverless::Function")
    names = {
        f["Properties"]["FunctionName"]["Fn::Sub"].removeprefix("seam-${Stage}-") for f in functions.values()
    }
    assert set(WORKFLOW_FUNCTIONS) == names - {"reconciler"}  # the reconciler acts for no single run


def test_models_put_refuses_a_budget_that_is_not_a_positive_number(harness: Harness, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text() + "budget:\n  monthly_usd: -5\n")
    result = runner.invoke(app, ["models", "put", str(bad)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: budget.monthly_usd: Input should be greater than 0")
    with pytest.raises(Exception, match="not onboarded"):
        harness.deps.models.get("churn")
