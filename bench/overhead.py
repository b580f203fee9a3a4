"""Orchestration overhead: what Seam itself adds to a retraining run, end to end, on the local runtime.

Set-up. The real local runtime (`seam_local.runtime.LocalRuntime`: moto server on a free loopback port,
template.yaml's resources, the handlers in-process, local SageMaker, local Kubernetes API), with:

* the no-op model `bench/noop/` (model.yaml, image/): its `train` entry point reads the dataset, prints
  `validation:score=<mean of the score column>`, writes a model and exits (about 0.1 s, standard library
  only); it follows the SageMaker container contract that local/seam_local/sagemaker.py runs;
* instant rollouts (`LocalRuntime(instant_rollouts=True)`): the local Kubernetes API completes a rollout
  before it answers the Deploy step's patch, and starts no serving process;
* `RolloutWaitSeconds=0` (the template's minimum): the WaitForRollout state waits 0 s, and since the
  rollout is already complete the first CheckRollout finds it done (one check per run);
* no schedules (no reconciler or scheduled-retrain ticks between runs); everything else as the template
  says, in particular both SQS event source mappings' `MaximumBatchingWindowInSeconds` (0: a 1 s window
  was 2.0 s of a 2.8 s median).

Runs. Each run is an S3 PutObject of a fresh dataset `datasets/noop/bench-NNN.csv` whose score column is
N+1, so every run beats the previous champion (evaluation: maximize, min_improvement 0, a strictly higher
metric) and goes all the way: Validate, LaunchTraining, Evaluate, Register, Deploy, WaitForRollout,
CheckRollout, Finalize (DEPLOYED). Runs are sequential: the next PUT waits until the execution has ended
and both event source queues are empty, so runs never coalesce and each one's time is its own. One
warm-up run comes first and is left out of every figure (`warmup_overhead_s` reports it): it pays the
first use of each handler's clients.

What is timed (wall clock of this process; moto's history timestamps come from the same clock):

* `overhead_median_s`: from just before the PutObject call to the Finalize state's exit
  (`TaskStateExited` of Finalize in the execution history). Everything in between is included: the
  trigger path, every state, the Lambda handlers, the SQS batching windows, and the training job (the
  no-op entry point, its input download and model upload), which is also reported on its own as
  `training_median_s`. Nothing is subtracted.
* `trigger_latency_median_s`: PutObject to the execution's start (`startDate`, when the trigger's
  StartExecution was accepted): S3 -> EventBridge -> TriggerQueue -> the SQS poller (long poll plus the
  batching window) -> trigger handler -> StartExecution.
* `overhead_per_state_s`: per state, the median over runs of the seconds from its StateEntered to its
  StateExited event (a state visited more than once is summed within the run); `trigger` is the trigger
  latency above and `between_states` the rest of the window (start to the first state, gaps between
  states): per run, the window minus trigger minus the states.
* `training_median_s`: the training job's TrainingStartTime to TrainingEndTime (DescribeTrainingJob):
  input download, the no-op process, model upload. `launch_training_breakdown_s` splits the
  LaunchTraining state into `launch` (state entered -> job started), `training_job` and `callback` (job
  ended -> the task token's success reached the workflow: SageMaker's event -> EventBridge ->
  CallbackQueue -> poller with its batching window -> training_callback -> SendTaskSuccess).

Counts and cost (SageMaker excluded), with prices from layers/seam/seam/prices.json, the dated table (with
its sources) that Seam prices every run's cost from (seam.domain.costing, whose functions count here too):

* `transitions_per_run`: the maximum over the runs of the state transitions Step Functions bills for a
  Standard workflow, counted from the execution history: one per state entered, plus one per retry
  ("Step Functions counts a state transition each time a step of your workflow is executed ...
  including retries", https://aws.amazon.com/step-functions/pricing/). The happy path is 14.
* `lambda_invocations_per_run`: the maximum over the runs of the Lambda invocations a run causes: the
  workflow's task states, the trigger and the training callback (the runtime's invocation log, from
  the PUT to the end of the run).
* `lambda_gb_seconds_per_run`: the maximum over the runs of sum(billed duration x memory / 1024), the
  billed duration being the handler's measured in-process duration rounded up to the next 1 ms as
  Lambda bills, the memory each function's MemorySize from template.yaml (Globals or its own). The
  handlers run on this x86-64 machine, in the same process as the emulator, not on Lambda arm64: the
  durations are indicative.
* `cost_per_run_usd`: transitions x the Standard per-transition price + invocations x the per-request
  price + GB-seconds x the arm64 GB-second price, each quantity the maximum over the runs (so an upper
  bound of every run's cost); `cost_breakdown_usd` has the three terms. Free tiers are ignored.

Paired evaluation on (`run(paired=True)`, `make bench`'s `*_paired` figures): the same runs with
bench/noop/model_paired.yaml: Validate splits a holdout off each dataset (a fifth of its rows), the
training job writes both models' per-row predictions on it (the no-op image scores its own model and the
champion's artifact from the `champion` channel), and Evaluate computes MAE for both and a paired
bootstrap interval (1,000 resamples), deciding on its lower bound. The same states are entered; what
changes is Validate (the split), the training job (two more channels, two files) and Evaluate.

`python -m bench.overhead [--runs N] [--paired]` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from seam.domain.costing import PRICE_TABLE, billed_gb_seconds, state_transitions
from seam_local.runtime import wait_for

BENCH = Path(__file__).resolve().parent
NOOP = BENCH / "noop"
MODEL_CONFIG = NOOP / "model.yaml"
# Paired evaluation on (`run(paired=True)`): a holdout per run, both models' per-row predictions written
# by the training job, Evaluate computing MAE for both with a paired bootstrap interval.
PAIRED_MODEL_CONFIG = NOOP / "model_paired.yaml"
PRICES = PRICE_TABLE  # layers/seam/seam/prices.json
MODEL = "noop"
IMAGE_REPOSITORY = "seam-noop"  # the model's image -> bench/noop/image/
ROLLOUT_WAIT_SECONDS = 0  # the template's MinValue for RolloutWaitSeconds
ROWS = 50
RUN_TIMEOUT = 60.0
EVENT_SOURCE_QUEUES = ("TriggerQueue", "CallbackQueue")  # the template's queues with a Lambda poller
HAPPY_PATH = (
    "RunKind",
    "Validate",
    "DataChanged",
    "LaunchTraining",
    "Evaluate",
    "Promote",
    "Register",
    "Deployable",
    "Deploy",
    "WaitForRollout",
    "CheckRollout",
    "RolloutDone",
    "Finalize",
    "RunOutcome",
    "Done",
)


@dataclasses.dataclass
class RunSample:
    """One run's measurements."""

    run_id: str
    status: str  # the run record's status (DEPLOYED on the happy path)
    execution_status: str
    overhead_s: float  # PUT -> Finalize exited
    trigger_s: float  # PUT -> StartExecution accepted
    states_s: dict[str, float]  # state -> seconds inside it (visits summed)
    entered: list[str]  # states in the order entered
    transitions: int  # states entered + retries
    training_s: float | None
    training_process_s: float | None
    launch_s: float | None
    callback_s: float | None
    invocations: list[tuple[str, float]]  # (function name, handler seconds)
    gb_seconds: float
    decided_on: str | None = None  # the paired gate's basis (`run(paired=True)`), None when unpaired
    holdout_rows: int | None = None

    @property
    def between_states_s(self) -> float:
        return self.overhead_s - self.trigger_s - sum(self.states_s.values())


def dataset(number: int, rows: int = ROWS) -> bytes:
    """A valid dataset for the no-op model whose metric (the mean score) is `number`."""
    return ("feature,score\n" + "".join(f"{row},{number}\n" for row in range(rows))).encode()


def prices(path: Path = PRICES) -> dict[str, Any]:
    return json.loads(path.read_text())


__all__ = ["billed_gb_seconds"]  # seam.domain.costing's, re-exported for the bench's tests


def run(runs: int = 20, *, warmup: int = 1, paired: bool = False) -> dict[str, Any]:
    """Measure `runs` sequential end-to-end runs (after `warmup` unmeasured ones); the figures. `paired`:
    the model evaluates paired (bench/noop/model_paired.yaml) instead of on its logged metric."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    import boto3
    from seam_local.console import silent
    from seam_local.images import ImageResolver
    from seam_local.runtime import LOCAL_CLUSTER, LocalRuntime

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seam-bench-overhead-") as state_dir:
        runtime = LocalRuntime(
            state_dir=Path(state_dir),
            parameters={"AllowedClusters": LOCAL_CLUSTER, "RolloutWaitSeconds": ROLLOUT_WAIT_SECONDS},
            images=ImageResolver(overrides={IMAGE_REPOSITORY: NOOP / "image"}),
            log=silent,
            schedules=False,
            instant_rollouts=True,
        )
        with runtime:
            assert runtime.stack is not None
            windows = runtime.sqs_batching_windows
            runtime.onboard(PAIRED_MODEL_CONFIG if paired else MODEL_CONFIG)
            bench = _Bench(runtime, boto3)
            samples = [bench.one(number) for number in range(warmup + runs)]
    wall = time.monotonic() - started
    figures = _figures(samples[warmup:], samples[:warmup], prices(), windows, wall)
    if paired:
        decided = {s.decided_on for s in samples[warmup:]}
        if decided != {"interval lower bound"}:  # the figures would not be paired evaluation's
            raise RuntimeError(f"paired bench runs were decided on {decided}, not paired")
        figures["paired_holdout_rows"] = max(s.holdout_rows or 0 for s in samples[warmup:])
    return figures


class _Bench:
    def __init__(self, runtime: Any, boto3: Any) -> None:
        self.runtime = runtime
        self.s3, self.sfn = boto3.client("s3"), boto3.client("stepfunctions")
        self.sqs, self.sagemaker = boto3.client("sqs"), boto3.client("sagemaker")
        self.bucket = runtime.environment()["SEAM_DATA_BUCKET"]
        self.queues = [runtime.stack.queue_url(q) for q in EVENT_SOURCE_QUEUES]
        self.memory = {spec.name: spec.memory_mb for spec in runtime.template.functions()}

    def one(self, number: int) -> RunSample:
        key = f"datasets/{MODEL}/bench-{number:03d}.csv"
        log = self.runtime.stack.runtime.invocations
        first_invocation = len(log)
        body = dataset(number + 1)
        put_at = time.time()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        run_id = self._wait(lambda: self._run_id(key), f"no run started for {key}", 0.05)
        arn = self.runtime.deps.workflow.execution_arn(run_id)
        execution = self._wait(lambda: self._ended(arn), f"execution {run_id} did not end", 0.05)
        self._wait(self._queues_idle, "the event source queues did not drain", 0.05)
        run = self.runtime.deps.runs.get(run_id)
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        invocations = [(i.function_name, i.seconds) for i in log[first_invocation:]]
        return self._sample(run_id, run, execution, history, invocations, put_at)

    def _run_id(self, key: str) -> str | None:
        for run in self.runtime.deps.runs.list_for_model(MODEL):
            if run.dataset is not None and run.dataset.key == key:
                return run.run_id
        return None

    def _ended(self, arn: str) -> dict[str, Any] | None:
        """The execution's description once it has ended (the run record is written before it starts)."""
        try:
            description = self.sfn.describe_execution(executionArn=arn)
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return None
        return description if description["status"] != "RUNNING" else None

    def _queues_idle(self) -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        for url in self.queues:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            if any(int(attributes.get(n, 0)) for n in names):
                return False
        return True

    @staticmethod
    def _wait(check: Any, message: str, interval: float) -> Any:
        return wait_for(check, RUN_TIMEOUT, message, interval)

    def _sample(
        self,
        run_id: str,
        run: Any,
        execution: dict[str, Any],
        history: list[dict[str, Any]],
        invocations: list[tuple[str, float]],
        put_at: float,
    ) -> RunSample:
        states: dict[str, float] = defaultdict(float)
        entered: list[str] = []
        open_states: dict[str, datetime] = {}
        finalize_exit: datetime | None = None
        launch_entered: datetime | None = None
        launch_succeeded: datetime | None = None
        current: str | None = None
        for event in history:
            kind, at = event["type"], event["timestamp"]
            if kind.endswith("StateEntered"):
                current = event["stateEnteredEventDetails"]["name"]
                entered.append(current)
                open_states[current] = at
                if current == "LaunchTraining":
                    launch_entered = at
            elif kind.endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                states[name] += (at - open_states.pop(name)).total_seconds()
                if name == "Finalize":
                    finalize_exit = at
            elif kind == "TaskSucceeded" and current == "LaunchTraining":
                launch_succeeded = at  # the task token's success reached the workflow
        if finalize_exit is None:
            raise RuntimeError(f"run {run_id}: Finalize never exited ({execution['status']})")
        job = self.sagemaker.describe_training_job(TrainingJobName=run_id)
        job_start, job_end = job.get("TrainingStartTime"), job.get("TrainingEndTime")
        transitions = job.get("SecondaryStatusTransitions", [])
        process = next((t for t in transitions if t["Status"] == "Training"), {})  # the entry point
        gb_seconds = sum(billed_gb_seconds(seconds, self.memory[name]) for name, seconds in invocations)
        gate = run.evaluation if run else None
        return RunSample(
            decided_on=gate.paired.decided_on if gate and gate.paired else None,
            holdout_rows=gate.paired.rows if gate and gate.paired else None,
            run_id=run_id,
            status=run.status.value if run else "UNKNOWN",
            execution_status=execution["status"],
            overhead_s=finalize_exit.timestamp() - put_at,
            trigger_s=execution["startDate"].timestamp() - put_at,
            states_s=dict(states),
            entered=entered,
            transitions=state_transitions(history),  # states entered + retries
            training_s=_seconds(job_start, job_end),
            training_process_s=_seconds(process.get("StartTime"), process.get("EndTime")),
            launch_s=_seconds(launch_entered, job_start),
            callback_s=_seconds(job_end, launch_succeeded),
            invocations=invocations,
            gb_seconds=gb_seconds,
        )


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _significant(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def _figures(
    samples: list[RunSample],
    warmups: list[RunSample],
    price: dict[str, Any],
    windows: list[float],
    wall_s: float,
) -> dict[str, Any]:
    ok = [s for s in samples if s.status == "DEPLOYED" and s.execution_status == "SUCCEEDED"]
    if not ok:
        raise RuntimeError(f"no run went all the way: {[(s.run_id, s.status) for s in samples]}")
    overheads = sorted(s.overhead_s for s in ok)
    states = [name for name in HAPPY_PATH if any(name in s.states_s for s in ok)]
    per_state = {"trigger": _median([s.trigger_s for s in ok])}
    per_state |= {name: _median([s.states_s.get(name, 0.0) for s in ok]) for name in states}
    per_state["between_states"] = _median([s.between_states_s for s in ok])

    transitions = max(s.transitions for s in ok)
    invocations = max(len(s.invocations) for s in ok)
    gb_seconds = max(s.gb_seconds for s in ok)
    breakdown = {
        "step_functions": transitions * price["step_functions_standard_per_transition_usd"],
        "lambda_requests": invocations * price["lambda_per_request_usd"],
        "lambda_compute": gb_seconds * price["lambda_arm64_per_gb_second_usd"],
    }
    by_function: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for sample in ok:
        per_run = Counter(name for name, _ in sample.invocations)
        for name, count in per_run.items():
            counts[name] = max(counts[name], count)
        for name, seconds in sample.invocations:
            by_function[name].append(seconds)
    return {
        "runs": len(samples),
        "runs_succeeded": len(ok),
        "runs_not_deployed": [(s.run_id, s.status) for s in samples if s not in ok],
        "overhead_median_s": _median(overheads),
        "overhead_p90_s": round(overheads[min(len(overheads) - 1, math.ceil(0.9 * len(overheads)) - 1)], 3),
        "overhead_max_s": round(overheads[-1], 3),
        "trigger_latency_median_s": per_state["trigger"],
        "overhead_per_state_s": per_state,
        "training_median_s": _median([s.training_s for s in ok]),
        "training_process_median_s": _median([s.training_process_s for s in ok]),
        "launch_training_breakdown_s": {
            "launch": _median([s.launch_s for s in ok]),
            "training_job": _median([s.training_s for s in ok]),
            "callback": _median([s.callback_s for s in ok]),
        },
        "rollout_wait_seconds": ROLLOUT_WAIT_SECONDS,
        "rollout_checks_per_run": max(s.entered.count("CheckRollout") for s in ok),
        "sqs_batching_window_s": windows,
        "transitions_per_run": transitions,
        "states_entered": max((s.entered for s in ok), key=len),
        "lambda_invocations_per_run": invocations,
        "lambda_invocations_by_function": dict(sorted(counts.items())),
        "lambda_duration_median_s": {k: _median(v) for k, v in sorted(by_function.items())},
        "lambda_gb_seconds_per_run": round(gb_seconds, 6),
        "cost_per_run_usd": _significant(sum(breakdown.values())),
        "cost_breakdown_usd": {k: _significant(v) for k, v in breakdown.items()},
        "prices_as_of": price.get("as_of"),
        "warmup_overhead_s": [round(s.overhead_s, 3) for s in warmups],
        "measured_in_s": round(wall_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs (after one warm-up run)")
    parser.add_argument("--paired", action="store_true", help="with paired evaluation on")
    args = parser.parse_args()
    print(json.dumps(run(args.runs, paired=args.paired), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
