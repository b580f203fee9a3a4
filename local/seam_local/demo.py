"""`seam demo`: three retraining runs of the churn example on the local runtime, shown live.

1. good.csv is dropped under datasets/churn/: the run trains, evaluates, registers and deploys v1, and
   the local serving process answers with it.
2. worse.csv is dropped: the evaluation gate rejects it, v1 keeps serving. While run 2 holds the model's
   lock, fresh data lands (3,000 new customers, generated deterministically) and the drift alarm
   `churn-feature-drift` goes to ALARM: Seam keeps one pending retrain, the newest request (drift).
3. When run 2 ends, the drift run starts on the latest data (the fresh drop, so the unchanged-data check
   lets it train), beats v1 and deploys v2; predictions change.

Every run is evaluated paired (model.yaml's evaluation.holdout_fraction): the training job scores the new
model and the serving one on the run's own holdout, and the summary shows both. The drift run makes the
point of it: v1, scored on today's rows, is far below the AUC stored when it was trained.

Everything goes through the emulator the way it would in AWS: S3 PutObject -> EventBridge -> SQS ->
trigger; SetAlarmState -> CloudWatch's state-change event -> SQS -> trigger.
"""

from __future__ import annotations

import importlib.util
import json
import math
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text
from seam.models.run import TriggerKind
from seam.models.run_record import Run

from seam_local.console import RuntimeLog
from seam_local.runtime import EXAMPLE_MODEL, LocalRuntime, wait_for
from seam_local.watch import ExecutionView

DATA = EXAMPLE_MODEL.parent / "data"
DRIFT_ALARM = "churn-feature-drift"
CUSTOMER = {  # a borderline customer: the two models' probabilities of churn differ visibly
    "tenure_months": 24,
    "monthly_charges": 75,
    "support_calls": 2,
    "usage_gb": 20,
    "contract_months": 12,
    "days_since_last_login": 20,
}
RUN_TIMEOUT = 90.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# The fresh customers churn for other reasons (concept drift): support calls no longer matter, usage and
# charges matter more. A model trained on good.csv scores an AUC of about 0.7 on them, one trained on them
# about 0.88.
DRIFTED_WEIGHTS = (-0.3, 1.0, 0.0, -1.0, 0.2, 0.4)


def fresh_dataset(rows: int = 3000, seed: int = 20261124) -> bytes:
    """Newer customers from the generator of good.csv (examples/churn/data/make_datasets.py): same
    features, a stronger churn signal with drifted weights, a fixed seed."""
    spec = importlib.util.spec_from_file_location("churn_make_datasets", DATA / "make_datasets.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    x, y = generator.customers(seed, rows, signal=1.6, weights=DRIFTED_WEIGHTS)
    return generator.csv_text(x, y).encode("utf-8")


@dataclass
class Scenario:
    number: int
    title: str
    run_id: str | None = None
    run: Run | None = None
    serving: dict[str, Any] = field(default_factory=dict)  # the serving process's answer after the run


@dataclass
class Demo:
    runtime: LocalRuntime
    console: Console

    def __post_init__(self) -> None:
        self.scenarios = [
            Scenario(1, "good.csv"),
            Scenario(2, "worse.csv"),
            Scenario(3, "drift alarm"),
        ]
        self.step = "starting"
        self.bucket = ""
        self.last_answer: dict[str, Any] = {}
        _, definition = self.runtime.template.state_machine()
        self.kinds = {name: state["Type"] for name, state in json.loads(definition)["States"].items()}

    # -- the three runs -----------------------------------------------------------------------------------

    def run(self) -> list[Scenario]:
        rt = self.runtime
        rt.onboard(EXAMPLE_MODEL)
        self.bucket = rt.environment()["SEAM_DATA_BUCKET"]
        first, second, third = self.scenarios

        self.say("1: good.csv lands in s3://…/datasets/churn/")
        self._drop("demo-1-good.csv", (DATA / "good.csv").read_bytes())
        first.run_id = self._new_run(lambda r: r.dataset is not None and r.dataset.key.endswith("1-good.csv"))
        self._settle(first)

        self.say("2: worse.csv lands")
        self._drop("demo-2-worse.csv", (DATA / "worse.csv").read_bytes())
        second.run_id = self._new_run(
            lambda r: r.dataset is not None and r.dataset.key.endswith("2-worse.csv")
        )
        self._drop("demo-3-fresh.csv", fresh_dataset())
        # The alarm fires after the data it reacts to. S3 stamps a drop's event to the second, and a drop
        # is the newest request of its second (README, "Which request waits"): the alarm comes in the
        # next second, so it is the newer request and the pending retrain.
        next_second = math.floor(time.time()) + 1
        time.sleep(max(0.0, next_second - time.time()))
        boto3.client("cloudwatch").set_alarm_state(
            AlarmName=DRIFT_ALARM,
            StateValue="ALARM",
            StateReason="Threshold Crossed: FeatureDriftPSI 0.3164 > 0.2 (demo)",
            StateReasonData=json.dumps({"version": "1.0", "recentDatapoints": [0.3164], "threshold": 0.2}),
        )
        self._settle(second)

        self.say("3: run 2 ended; the pending retrain (the newest request: drift) starts")
        third.run_id = self._new_run(lambda r: r.trigger is TriggerKind.DRIFT)
        self._settle(third)
        self.step = "done"
        return self.scenarios

    def _drop(self, name: str, body: bytes) -> None:
        boto3.client("s3").put_object(Bucket=self.bucket, Key=f"datasets/churn/{name}", Body=body)

    def _new_run(self, matches: Any) -> str:
        known = {s.run_id for s in self.scenarios}
        run = wait_for(
            lambda: next(
                (
                    r
                    for r in self.runtime.deps.runs.list_for_model("churn")
                    if r.run_id not in known and matches(r)
                ),
                None,
            ),
            RUN_TIMEOUT,
            f"no run started for step {self.step}",
        )
        return run.run_id

    def _settle(self, scenario: Scenario) -> None:
        assert scenario.run_id
        runs = self.runtime.deps.runs
        scenario.run = wait_for(
            lambda: (r := runs.get(scenario.run_id)) is not None and r.status.terminal and r,  # type: ignore[arg-type]
            RUN_TIMEOUT,
            f"run {scenario.run_id} did not finish",
        )
        watcher = self.runtime.watcher
        assert watcher is not None
        wait_for(
            lambda: (v := watcher.view(scenario.run_id or "")) is not None and v.status != "RUNNING",
            RUN_TIMEOUT,
            f"execution {scenario.run_id} did not end",
        )
        scenario.serving = self.last_answer = self.predict()

    def predict(self) -> dict[str, Any]:
        """Ask the serving process about CUSTOMER: {"predictions": [p], "model_version": v} or {}."""
        assert self.runtime.eks is not None
        serving = self.runtime.eks.serving("ml-serving", "churn-predictor")
        if serving is None:
            return {}
        request = urllib.request.Request(
            f"{serving.url}/invocations",
            data=json.dumps({"instances": [CUSTOMER]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with _DIRECT.open(request, timeout=5) as response:
            return json.loads(response.read())

    # -- what is shown --------------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        self.step = message
        self.console.print(f"[bold]> {message}[/]")

    def __rich__(self) -> Table:
        watcher = self.runtime.watcher
        views = {v.name: v for v in watcher.views()} if watcher else {}
        table = Table("run", "trigger", "states (seconds)", "status", title=self.step, title_justify="left")
        table.columns[2].no_wrap = True
        for scenario in self.scenarios:
            view = views.get(scenario.run_id or "")
            run = scenario.run
            table.add_row(
                f"{scenario.number} {scenario.title}",
                run.trigger.value if run else ("drift" if scenario.number == 3 else "data"),
                self._states(view),
                run.status.value if run else (view.status if view else "waiting"),
            )
        answer = self.last_answer
        table.caption = (
            f"serving model {answer['model_version']}: p(churn)={answer['predictions'][0]:.3f} for a customer"
            if answer
            else "serving: nothing yet"
        )
        table.caption_justify = "left"
        return table

    def summary(self) -> Table:
        table = Table(title="summary", show_lines=True, title_justify="left")
        for column in (
            "run",
            "trigger",
            "states (seconds)",
            "same holdout",
            "decision",
            "cost",
            "serving after",
        ):
            table.add_column(column, no_wrap=column in ("states (seconds)", "same holdout"))
        watcher = self.runtime.watcher
        for scenario in self.scenarios:
            run = scenario.run
            assert run is not None and watcher is not None
            reason = run.evaluation.reason if run.evaluation else (run.cause or "")
            if run.evaluation and run.evaluation.paired:  # the numbers are in "same holdout": the verdict
                reason = reason.rsplit("; ", 1)[-1]
            answer = scenario.serving
            table.add_row(
                f"{scenario.number} {scenario.title}",
                run.trigger.value,
                self._states(watcher.view(run.run_id)),
                self._scores(run),
                f"{run.status.value}\n[dim]{reason}[/]",
                cost_text(run),
                f"v{answer['model_version']}\np={answer['predictions'][0]:.3f}" if answer else "nothing",
            )
        return table

    def _scores(self, run: Run) -> str:
        """Both models' AUC on this run's holdout, and the champion's stored AUC beside its score today."""
        gate = run.evaluation
        if gate is None or gate.paired is None:
            auc = run.metrics.get("validation:auc")
            return f"auc {auc:.4f} (log)" if auc is not None else "-"
        paired = gate.paired
        lines = [f"{paired.rows} rows", f"new {paired.challenger:.4f}"]
        if paired.champion is not None and gate.champion_version:
            stored = next(
                (
                    s.run.evaluation.challenger
                    for s in self.scenarios
                    if s.run and s.run.model_version == gate.champion_version and s.run.evaluation
                ),
                None,
            )
            lines.append(f"v{int(gate.champion_version)} {paired.champion:.4f}")
            if stored is not None:
                lines.append(f"(v{int(gate.champion_version)} stored {stored:.4f})")
            if paired.interval:
                low, high = paired.interval
                lines.append(f"diff [{low:+.3f}, {high:+.3f}]")
        return "\n".join(lines)

    def _states(self, view: ExecutionView | None) -> Text:
        """Task and Wait states in order, with their time; repeats (the rollout checks) are summed."""
        text = Text()
        if view is None:
            return text
        now = view.stopped or datetime.now(view.started.tzinfo)
        totals: dict[str, list[float]] = {}
        current = None
        for visit in view.states:
            if self.kinds.get(visit.name) in ("Task", "Wait"):
                totals.setdefault(visit.name, [0.0, 0])
                totals[visit.name][0] += visit.seconds(now)
                totals[visit.name][1] += 1
                current = visit.name if visit.exited is None else current
        for index, (name, (seconds, count)) in enumerate(totals.items()):
            if index:
                text.append("\n")
            label = f"{name} {seconds:.1f}" + (f" x{count}" if count > 1 else "")
            text.append(label, style="bold cyan" if name == current else "")
        return text


def cost_text(run: Run) -> str:
    """The run's cost as the price table puts it, training first (the local job's billable seconds are
    its real run time, priced as the configured instance type)."""
    cost = run.cost
    if cost is None:
        return "-"
    total = f"${cost.total_usd:.4f}" if cost.total_usd is not None else "unknown"
    training = cost.parts.get("training")
    detail = f"training {training.quantity:g} s" if training else "no training"
    return f"{total}\n[dim]{detail}[/]"


def cost_report(runtime: LocalRuntime) -> dict[str, Any]:
    """What `seam cost --output json` says about this stack this month (the command's own report)."""
    from seam.domain.budgets import month_start
    from seam_cli.main import cost_report as report

    return report(runtime.deps, month_start(datetime.now(UTC)), None, None)


def cost_table(report: dict[str, Any]) -> Table:
    table = Table(title="seam cost (this stack, this month)", title_justify="left")
    for column in ("run", "training", "lambda", "step functions", "total"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for row in report["runs"]:
        parts = row["cost"]["parts"] if row["cost"] else {}

        def usd(*names: str, parts: dict[str, Any] = parts) -> str:
            values = [parts[n]["usd"] for n in names if n in parts]
            return "-" if not values or None in values else f"${sum(values):.6f}"

        total = row["cost"]["total_usd"] if row["cost"] else None
        table.add_row(
            row["run_id"],
            usd("training", "warm_pool"),
            usd("lambda_compute", "lambda_requests"),
            usd("step_functions"),
            "unknown" if total is None else f"${total:.6f}",
        )
    table.caption = f"total ${report['total_usd']:.6f} over {report['runs_costed']} run(s)"
    table.caption_justify = "left"
    return table


def expected(scenarios: list[Scenario]) -> list[str]:
    """What went differently from the story (empty when the demo did what it says)."""
    problems = []
    wanted = [("DEPLOYED", "000001"), ("REJECTED", "000001"), ("DEPLOYED", "000002")]
    for scenario, (status, version) in zip(scenarios, wanted, strict=True):
        got = scenario.run.status.value if scenario.run else "no run"
        serving = scenario.serving.get("model_version")
        if got != status or serving != version:
            problems.append(f"run {scenario.number}: {got}, serving {serving} (expected {status}, {version})")
    return problems


def unpriced(report: dict[str, Any], scenarios: list[Scenario]) -> list[str]:
    """Demo runs `seam cost` has no cost for (empty when every run has one, with its parts)."""
    costed = {r["run_id"] for r in report["runs"] if r["cost"] and r["cost"]["total_usd"] is not None}
    return [
        f"run {s.number}: seam cost has no cost for {s.run_id}" for s in scenarios if s.run_id not in costed
    ]


def run_demo(console: Console | None = None, port: int = 0) -> int:
    """Run the demo on a fresh local runtime in a temporary folder; the exit code."""
    console = console or Console()
    started = time.monotonic()
    log = RuntimeLog(console, kinds={"event", "sagemaker", "serving", "alert", "error"})
    with tempfile.TemporaryDirectory(prefix="seam-demo-") as state_dir:
        runtime = LocalRuntime(port=port, state_dir=Path(state_dir), log=log, schedules=False)
        console.print(
            "[bold]seam demo[/]: the churn example on the local runtime (moto, local SageMaker and EKS)"
        )
        with runtime:
            demo = Demo(runtime, console)
            with Live(demo, console=console, refresh_per_second=8, transient=False):
                scenarios = demo.run()
            console.print()
            console.print(demo.summary())
            report = cost_report(runtime)
            console.print(cost_table(report))
    problems = expected(scenarios) + unpriced(report, scenarios)
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    console.print(f"demo finished in {time.monotonic() - started:.1f}s")
    return 1 if problems else 0
