"""`seam demo`'s three scenarios end to end on the local runtime, in this process: data drop -> v1
deployed and serving; worse data -> rejected, v1 keeps serving; drift alarm -> v2 deployed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from rich.console import Console
from seam.models.run import RunStatus, TriggerKind
from seam_local.console import RuntimeLog
from seam_local.demo import DATA, Demo, cost_report, cost_table, expected, fresh_dataset, unpriced
from seam_local.runtime import LocalRuntime, wait_for

from tests.stored import stored_versions


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    log = RuntimeLog(Console(file=io.StringIO()))
    with LocalRuntime(state_dir=tmp_path / "local", log=log, schedules=False) as started:
        yield started


def test_fresh_dataset_is_deterministic_and_differs_from_good_csv() -> None:
    data = fresh_dataset()
    assert data == fresh_dataset()
    assert data.count(b"\n") == 3001
    good = (DATA / "good.csv").read_bytes()
    assert data.split(b"\n", 1)[0] == good.split(b"\n", 1)[0]  # same columns, other customers
    assert data != good


def test_demo_deploys_v1_rejects_worse_data_and_deploys_v2_on_drift(runtime: LocalRuntime) -> None:
    console = Console(file=io.StringIO(), width=120)
    demo = Demo(runtime, console)

    first, second, third = demo.run()

    assert expected([first, second, third]) == []
    assert first.run and second.run and third.run
    assert [s.run.trigger for s in (first, second, third)] == [
        TriggerKind.DATA,
        TriggerKind.DATA,
        TriggerKind.DRIFT,
    ]  # type: ignore[union-attr]
    assert [s.run.status for s in (first, second, third)] == [
        RunStatus.DEPLOYED,
        RunStatus.REJECTED,
        RunStatus.DEPLOYED,
    ]  # type: ignore[union-attr]
    # The fresh drop that landed while run 2 ran waited, then the drift request took its place: three
    # runs, and the drop's SUPERSEDED record naming the drift run.
    rows = runtime.deps.runs.list_for_model("churn")
    [superseded] = [r for r in rows if r.status is RunStatus.SUPERSEDED]
    assert len(rows) == 4 and superseded.superseded_by == third.run.run_id
    assert superseded.dataset and superseded.dataset.key == "datasets/churn/demo-3-fresh.csv"
    assert third.run.dataset and third.run.dataset.key == "datasets/churn/demo-3-fresh.csv"
    assert second.run.evaluation and second.run.evaluation.decision == "reject"

    versions = stored_versions(runtime.deps.versions, "churn")
    assert [(v.version, v.run_id) for v in versions] == [("000001", first.run_id), ("000002", third.run_id)]
    champion = runtime.deps.versions.champion("churn")
    assert third.run.evaluation and champion
    assert (champion.version, champion.value) == ("000002", third.run.evaluation.challenger)

    # Paired: every run scored on its own holdout by Seam; the drift run scored v1 and the new model on the
    # same fresh rows, where v1 does far worse than the AUC stored when it was trained.
    first_gate, drift_gate = first.run.evaluation, third.run.evaluation
    assert first_gate and first_gate.paired and first_gate.paired.decided_on == "first version"
    assert (
        drift_gate.paired
        and drift_gate.paired.champion is not None
        and drift_gate.champion_version == "000001"
    )
    assert drift_gate.paired.rows == third.run.snapshot.holdout.rows  # type: ignore[union-attr]
    assert drift_gate.paired.champion < first_gate.challenger - 0.05  # v1 today vs v1 as stored
    assert drift_gate.paired.champion < drift_gate.challenger
    assert drift_gate.paired.decided_on == "interval lower bound"
    assert drift_gate.improvement is not None and drift_gate.paired.improvement_lower is not None
    assert drift_gate.paired.improvement_lower >= 0.005

    # The serving process answered with v1 after runs 1 and 2, then with v2, which predicts differently.
    answers = [(s.serving["model_version"], s.serving["predictions"][0]) for s in (first, second, third)]
    assert [a[0] for a in answers] == ["000001", "000001", "000002"]
    assert answers[0][1] == answers[1][1] != answers[2][1]
    assert demo.predict()["model_version"] == "000002"

    # What the cluster says (the Deployment Seam patched) and what the execution history says.
    assert runtime.eks is not None
    deployment = runtime.eks.kube.get_deployment("ml-serving", "churn-predictor")
    assert deployment is not None
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SEAM_MODEL_VERSION"] == "000002"
    assert env["SEAM_MODEL_URI"] == versions[1].model_artifact_uri
    sfn = boto3.client("stepfunctions")
    history = sfn.get_execution_history(executionArn=runtime.deps.workflow.execution_arn(second.run_id or ""))
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e
    ]
    assert "Register" not in entered and entered[-1] == "Done"

    summary = io.StringIO()
    Console(file=summary, width=160).print(demo.summary())
    assert "REJECTED" in summary.getvalue() and "v000002" in summary.getvalue()
    assert "cost" in summary.getvalue() and "training " in summary.getvalue()  # the cost column

    # `seam cost --output json` (its report) against the demo's stack: a cost for every run, with parts.
    report = cost_report(runtime)
    assert unpriced(report, [first, second, third]) == []
    costs = {row["run_id"]: row["cost"] for row in report["runs"]}
    assert set(costs) == {first.run_id, second.run_id, third.run_id}
    for run_id, cost in costs.items():
        assert cost["total_usd"] > 0 and cost["team"] == "growth", run_id
        assert {"training", "lambda_compute", "lambda_requests", "step_functions"} <= set(cost["parts"])
        assert cost["parts"]["training"]["quantity"] > 0  # the local job's billable seconds
    assert report["total_usd"] == pytest.approx(sum(c["total_usd"] for c in costs.values()), abs=1e-7)
    assert "seam cost" in render(cost_table(report))

    # The alert topic's local subscriber printed the notifications people would get, and prints an alarm.
    subscriber = runtime.alerts
    assert subscriber is not None
    printed = wait_for(
        lambda: len(subscriber.printed) >= 3 and subscriber.printed, 10, "no notifications printed"
    )
    heads = sorted(message.splitlines()[0] for message in printed)
    assert heads == sorted(
        f"Seam local: {kind} - model churn, run {s.run_id} ({s.run.status.value})"  # type: ignore[union-attr]
        for kind, s in (("ModelDeployed", first), ("RunRejected", second), ("ModelDeployed", third))
    )
    assert all(m.splitlines()[2].startswith("Execution: https://") for m in printed)
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName="seam-local-trigger-dlq-not-empty", StateValue="ALARM", StateReason="1 message (test)"
    )
    alarm = wait_for(lambda: [m for m in subscriber.printed if "dlq-not-empty" in m], 10, "no alarm printed")
    assert alarm[0].startswith("seam-local-trigger-dlq-not-empty is ALARM: 1 message (test)")
    assert "What to do: Retrain requests are in the trigger DLQ" in alarm[0]


def render(table: object) -> str:
    out = io.StringIO()
    Console(file=out, width=160).print(table)
    return out.getvalue()
