"""Issue 16, items 2, 3 and 6: the reconciler's sweep past its time budget and under faults, and the
training jobs of runs that end with their task token unsettled.

- **Sweep past its budget** (item 2): 300 runs in TRAINING go quiet together (one schedule tick's worth),
  and SageMaker sends no event during their Training phase. Time is simulated: sweeps every 5 minutes of
  simulated time; every AWS call the reconciler makes costs `CALL_SECONDS` of it (a callback invocation's
  calls a fifth of that: five run at once, `MaximumConcurrency`), and the reconciler's Lambda context
  reports its remaining time from that clock. Step Functions' side of the task tokens is simulated too:
  `SendTaskHeartbeat` is answered here and recorded at the simulated time, and a run "times out" when
  two heartbeats (or its entry into TRAINING and its first heartbeat) are further apart than the
  HeartbeatSeconds `limits_for` gives it. Everything else is real: the stores on moto, the real handlers
  (ReconcilerFunction, TrainingCallbackFunction fed from the template's CallbackQueue), moto's jobs.
- **One failed call in a sweep** (item 3): a throttle left after the SDK's retries on one run's
  DescribeTrainingJob and on one lock's DescribeExecution.
- **Orphaned training jobs** (item 6): a run that ends by HeartbeatTimeout, and one whose Finalize failed
  for good, each with a newer request waiting for the model.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from seam.adapters.aws import add_client_hook
from seam.domain.training_limits import RECONCILER_PERIOD_SECONDS, limits_for
from seam.models.run import Run, RunRequest, RunStatus, TrainingLimits, TriggerKind, utc_now

from tests.reliability.conftest import EventSource, Figure, stack_client
from tests.reliability.faults import FaultInjector, FaultKind, current_function
from tests.reliability.test_scenarios import drop_event, onboard, run_ids_for, wait_all
from tests.workflow.harness import IMAGE, Harness, model_config

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

ACCOUNT, REGION = "123456789012", "us-east-1"
STALE_AFTER = 1800  # TrainingStaleAfterSeconds' default in template.yaml
CALL_SECONDS = 0.05  # simulated duration of one AWS call (DynamoDB, SQS, SageMaker, Step Functions)
CALLBACK_CONCURRENCY = 5  # TrainingCallbackFunction's MaximumConcurrency
DEPLOYED_TIMEOUT = 30  # ReconcilerFunction's timeout (Globals)
LONG_RUNTIME = 7200  # two-hour trainings: a quarter of it is below the window's floor
RUNS = 300
LOST_HOLDERS = 5
FIRST_SWEEP = 60.0  # seconds into the simulation; then every RECONCILER_PERIOD_SECONDS


# -- simulated time -------------------------------------------------------------------------------------


@dataclass
class SimClock:
    """Seconds since `start`; AWS calls of the reconciler and the callback advance it."""

    start: datetime
    elapsed: float = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def at_least(self, seconds: float) -> None:
        self.elapsed = max(self.elapsed, seconds)

    def charge(self, **_: Any) -> None:
        function = current_function()
        if function == "ReconcilerFunction":
            self.elapsed += CALL_SECONDS
        elif function == "TrainingCallbackFunction":
            self.elapsed += CALL_SECONDS / CALLBACK_CONCURRENCY


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@dataclass
class HeartbeatClock:
    """Step Functions' heartbeat timers of simulated task tokens: SendTaskHeartbeat is answered here
    (accepted) and recorded at the simulated time."""

    clock: SimClock
    beats: dict[str, list[float]] = field(default_factory=dict)  # task token -> simulated seconds

    def answer(self, params: dict[str, Any], **_: Any) -> Any:
        self.clock.charge()  # answered here, before the general before-call hook would charge it
        token = json.loads(params["body"])["taskToken"]  # the serialized request (JSON protocol)
        self.beats.setdefault(token, []).append(self.clock.elapsed)
        http = AWSResponse("https://states.simulated/", 200, {}, _Raw(b"{}"))
        return http, {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def install(self) -> HeartbeatClock:
        add_client_hook(
            lambda client: client.meta.events.register(
                "before-call.stepfunctions.SendTaskHeartbeat", self.answer
            )
        )
        return self

    def longest_gap(self, token: str, entered: float, until: float) -> float:
        times = [entered, *sorted(self.beats.get(token, [])), until]
        return max(b - a for a, b in itertools.pairwise(times))


@pytest.fixture
def sim_clock(faults: FaultInjector, monkeypatch: pytest.MonkeyPatch) -> SimClock:
    """A simulated clock the stores, the settler and the sweep read (`utc_now` where they use it)."""
    import seam.adapters.dynamodb.runs
    import seam.domain.reconciliation
    import seam.domain.settlement

    clock = SimClock(utc_now())
    for module in (seam.adapters.dynamodb.runs, seam.domain.reconciliation, seam.domain.settlement):
        monkeypatch.setattr(module, "utc_now", clock.now, raising=False)
    add_client_hook(lambda client: client.meta.events.register("before-call", clock.charge))
    return clock


def simulated_budget(h: Harness, clock: SimClock, timeout_seconds: float) -> None:
    """ReconcilerFunction's context reports its remaining time from the simulated clock."""
    name = h.stack.functions["ReconcilerFunction"].name
    handler, memory_mb, timeout = h.stack.runtime.handlers[name]

    def run(event: Any, context: Any) -> Any:
        started = clock.elapsed
        context.get_remaining_time_in_millis = lambda: max(
            0, int((timeout_seconds - (clock.elapsed - started)) * 1000)
        )
        return handler(event, context)

    h.stack.runtime.handlers[name] = (run, memory_mb, timeout)


# -- runs in TRAINING without a workflow ----------------------------------------------------------------


def training_run(h: Harness, name: str, entered: datetime) -> str:
    """A run in TRAINING since `entered`: its record, its task token and its InProgress job."""
    request = RunRequest(stage="test", model=name, trigger=TriggerKind.SCHEDULE, intent=f"slot|{name}")
    run_id = request.run_id
    h.deps.runs.create(
        Run(
            run_id=run_id,
            model=name,
            trigger=request.trigger,
            status=RunStatus.TRAINING,
            started_at=entered,
            updated_at=entered,
            training_job_name=run_id,
        )
    )
    h.deps.tokens.put(run_id, token_of(run_id), run_id)
    stack_client(h, "sagemaker").create_training_job(
        TrainingJobName=run_id,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/seam-training",
        OutputDataConfig={"S3OutputPath": f"s3://{h.bucket}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": LONG_RUNTIME},
    )
    h.training_event(run_id, "InProgress")
    return run_id


def token_of(run_id: str) -> str:
    return f"token-{run_id}"


def lost_holder(h: Harness, name: str) -> str:
    """`name`'s lock held by a run whose StartExecution was lost (the reconciler must start it)."""
    request = RunRequest(stage="test", model=name, trigger=TriggerKind.MANUAL, intent=f"manual|{name}")
    h.deps.locks.acquire(request)
    h.deps.runs.create(Run(run_id=request.run_id, model=name, trigger=request.trigger))
    return request.run_id


def window() -> TrainingLimits:
    training = {"image": IMAGE, "max_runtime_seconds": LONG_RUNTIME}
    return limits_for(model_config("long", training=training).training, STALE_AFTER)


# -- item 2: every stale training heartbeated within its window, past the sweep's budget ----------------

BUDGETS = {
    # The deployed timeout: 22 s after the 8 s stop margin; settling a run in the sweep itself takes
    # three calls, so one sweep settles ~146 of the 300.
    "as deployed": DEPLOYED_TIMEOUT,
    # A budget that fits about a third of the stale runs per sweep even at a tenth of a call per run.
    "a third per sweep": 8 + 1.1,
}


@pytest.mark.parametrize("budget", list(BUDGETS))
def test_every_stale_training_is_heartbeated_within_its_window_past_the_sweep_budget(
    harness: Harness,
    faults: FaultInjector,
    sim_clock: SimClock,
    event_source: Callable[..., EventSource],
    figure: Figure,
    budget: str,
) -> None:
    clock = sim_clock
    harness.deps.settings = harness.deps.settings._replace(training_stale_after_seconds=STALE_AFTER)
    heartbeats = HeartbeatClock(clock).install()
    simulated_budget(harness, clock, BUDGETS[budget])
    callback = event_source("callback")
    limits = window()
    # One schedule tick's worth: 300 trainings enter TRAINING within 15 s, just after a sweep, so they
    # go quiet together just after a sweep too (the worst phase: every one waits a whole period first).
    start = {f"long-{n}": FIRST_SWEEP + 1 + n / 20 for n in range(RUNS)}
    entered = {
        training_run(harness, name, clock.start + timedelta(seconds=at)): at for name, at in start.items()
    }
    all_stale_at = STALE_AFTER + max(entered.values())
    end = 2 * 3600 + 60

    lost: dict[str, str] = {}  # run id -> model
    beats_per_sweep: list[int] = []
    resumed_per_sweep: list[tuple[int, int]] = []  # (dead locks when the sweep began, started by it)
    sweeps = 0
    t = FIRST_SWEEP
    while t <= end:
        clock.at_least(t)
        if not lost and t > all_stale_at:  # holders whose start was lost, found by the busiest sweep
            lost = {lost_holder(harness, f"lost-{n}"): f"lost-{n}" for n in range(LOST_HOLDERS)}
        before = sum(len(b) for b in heartbeats.beats.values())
        dead = [
            m
            for r, m in lost.items()
            if (lock := harness.deps.locks.get(m)) and lock.holder == r and not _started(harness, r)
        ]
        report = harness.stack.invoke("ReconcilerFunction", {})
        callback.drain(timeout=120)
        beats_per_sweep.append(sum(len(b) for b in heartbeats.beats.values()) - before)
        if dead:
            resumed_per_sweep.append((len(dead), len(set(report["resumed"]) & set(lost))))
        sweeps += 1
        t += RECONCILER_PERIOD_SECONDS
    until = clock.elapsed

    gaps = {r: heartbeats.longest_gap(token_of(r), at, until) for r, at in entered.items()}
    missed = sorted(r for r, gap in gaps.items() if gap > limits.heartbeat_seconds)
    never = sum(1 for r in entered if not heartbeats.beats.get(token_of(r)))
    former_window = STALE_AFTER + 2 * RECONCILER_PERIOD_SECONDS  # before issue 16: stale-after + 2 sweeps
    past_former = sum(1 for gap in gaps.values() if gap > former_window)
    figure.scenario = f"stale trainings past the sweep budget [{budget}]"
    figure.injected = (
        f"{RUNS} runs in TRAINING go quiet together (+ {LOST_HOLDERS} lock holders whose start was lost); "
        f"{sweeps} sweeps over {until / 3600:.1f} h of simulated time; budget {BUDGETS[budget] - 8:g} s "
        f"at {CALL_SECONDS * 1000:g} ms per AWS call"
    )
    figure.expected = (
        f"every run heartbeated within its window (HeartbeatSeconds {limits.heartbeat_seconds}); "
        "every sweep that finds a dead lock repairs some"
    )
    figure.observed = (
        f"{RUNS - len(missed)}/{RUNS} within the window (longest gap {max(gaps.values()):.0f} s, "
        f"{never} never heartbeated; {past_former} past the former {former_window} s window); "
        f"heartbeats per sweep max {max(beats_per_sweep)}, "
        f"{sum(beats_per_sweep)} in all; dead locks / started per sweep {resumed_per_sweep}"
    )
    assert not missed, (
        f"{len(missed)} of {RUNS} runs missed their heartbeat window ({never} never heartbeated)"
    )
    assert resumed_per_sweep and all(started for _, started in resumed_per_sweep), resumed_per_sweep
    if budget == "a third per sweep":
        assert max(beats_per_sweep) < RUNS / 2, beats_per_sweep  # the budget really fits only a fraction


def _started(h: Harness, run_id: str) -> bool:
    return h.deps.workflow.execution_status(run_id) is not None


# -- item 3: one failed call does not end the sweep -----------------------------------------------------


def test_one_failed_call_does_not_end_the_sweep(
    harness: Harness,
    faults: FaultInjector,
    event_source: Callable[..., EventSource],
    logs: Any,
    capsys: pytest.CaptureFixture[str],
    figure: Figure,
) -> None:
    heartbeats = HeartbeatClock(SimClock(utc_now())).install()
    harness.deps.settings = harness.deps.settings._replace(training_stale_after_seconds=STALE_AFTER)
    quiet_since = utc_now() - timedelta(hours=1)
    runs = [training_run(harness, f"quiet-{n}", quiet_since) for n in range(3)]
    holders = [lost_holder(harness, f"lost-{n}") for n in range(2)]
    # Throttles left after the SDK's retries: one run's DescribeTrainingJob, one lock's DescribeExecution.
    faults.once("sagemaker", "DescribeTrainingJob", where=lambda p: p.get("TrainingJobName") == runs[0])
    faults.once(
        "stepfunctions", "DescribeExecution", where=lambda p: p.get("executionArn", "").endswith(holders[0])
    )
    callback = event_source("callback")

    capsys.readouterr()
    first = harness.stack.invoke("ReconcilerFunction", {})
    failures_metric = emitted(capsys.readouterr().out, "ReconcileFailures")
    callback.drain()
    beaten_first = sorted(r for r in runs if heartbeats.beats.get(token_of(r)))
    started_first = sorted(h for h in holders if _started(harness, h))
    second = harness.stack.invoke("ReconcilerFunction", {})
    callback.drain()

    assert beaten_first == sorted(runs)  # the throttled run's check was retried, the others never waited
    assert started_first == [holders[1]]  # the other lock was repaired by the same sweep
    assert sorted(second["resumed"]) == [holders[0]]  # and the failed one by the next
    assert all(_started(harness, h) for h in holders)
    assert (
        list(first["failed"]) == ["lock lost-0"] and "ThrottlingException" in first["failed"]["lock lost-0"]
    )
    logged = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    failures = [entry for entry in logged if entry.get("message") == "reconcile item failed"]
    assert [(f["item"], "ThrottlingException" in f["reason"]) for f in failures] == [("lock lost-0", True)]
    assert failures_metric == [1.0]
    assert callback.failed_records == 1 and not callback.dead_letters()
    figure.scenario = "one failed call in a sweep"
    figure.injected = (
        "3 quiet TRAINING runs + 2 lock holders whose start was lost; ThrottlingException (after the SDK's "
        "retries) on one run's DescribeTrainingJob and on one holder's DescribeExecution"
    )
    figure.expected = (
        "the sweep finishes: the other runs heartbeated and the other lock repaired at once, the failure "
        "logged with its reason and counted; the failed ones done by the retry / next sweep"
    )
    figure.observed = (
        f"sweep 1 returned: {len(beaten_first)}/3 runs heartbeated (the throttled check redelivered "
        f"{callback.failed_records}x), {len(started_first)}/2 holders started; failed "
        f"{sorted(first['failed'])} logged with its reason, ReconcileFailures {failures_metric}; "
        f"sweep 2 started {len(second['resumed'])}/1; DLQ 0"
    )


def emitted(stdout: str, metric: str) -> list[float]:
    """A metric's values in the CloudWatch embedded-metric-format lines Powertools printed."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]
    return [value for line in lines if metric in line for value in line[metric]]


# -- the check messages on the callback queue ----------------------------------------------------------


def test_a_check_message_settles_and_a_poison_one_is_dead_lettered(
    harness: Harness,
    faults: FaultInjector,
    event_source: Callable[..., EventSource],
    figure: Figure,
) -> None:
    heartbeats = HeartbeatClock(SimClock(utc_now())).install()
    run_id = training_run(harness, "checked", utc_now() - timedelta(hours=1))
    check = {"source": "seam.reconciler", "detail-type": "Training Check Requested"}
    poison = [
        {**check, "detail": {}},  # no job name
        {**check, "detail": {"TrainingJobName": run_id, "extra": "x"}},  # a field the check does not have
        {**check, "detail-type": "Other", "detail": {"TrainingJobName": run_id}},
        {**check, "source": "seam.other", "detail": {"TrainingJobName": run_id}},
    ]
    callback = event_source("callback")
    callback.send({**check, "detail": {"TrainingJobName": run_id}}, *poison)
    callback.drain()

    dead = callback.dead_letters()
    assert heartbeats.beats.get(token_of(run_id)) and len(heartbeats.beats[token_of(run_id)]) == 1
    assert sorted(json.loads(m["Body"])["detail"].get("extra", m["Body"][:0]) for m in dead) == [
        "",
        "",
        "",
        "x",
    ]
    assert len(dead) == len(poison) and all(
        callback.receives[m["MessageId"]] == callback.max_receive_count for m in dead
    )
    figure.scenario = "reconciler check messages on the callback queue"
    figure.injected = f"1 check of a quiet training + {len(poison)} malformed checks, one batch"
    figure.expected = (
        "the check heartbeats the run once; each malformed one received maxReceiveCount times, then DLQ"
    )
    figure.observed = (
        f"heartbeats {len(heartbeats.beats[token_of(run_id)])}; DLQ {len(dead)}/{len(poison)}, each received "
        f"{sorted({callback.receives[m['MessageId']] for m in dead})}x"
    )


# -- item 6: the training job of a run that ends with its token unsettled is stopped -------------------


@pytest.fixture
def jobs_keep_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto marks a training job Completed when it is created; here it stays InProgress until stopped."""
    from moto.sagemaker.models import SageMakerModelBackend

    original = SageMakerModelBackend.create_training_job

    def create(self: Any, training_job_name: str, **kwargs: Any) -> Any:
        job = original(self, training_job_name, **kwargs)
        job.training_job_status, job.secondary_status = "InProgress", "Training"
        return job

    monkeypatch.setattr(SageMakerModelBackend, "create_training_job", create)


def job_status(h: Harness, name: str) -> str:
    return stack_client(h, "sagemaker").describe_training_job(TrainingJobName=name)["TrainingJobStatus"]


def call_index(faults: FaultInjector, operation: str, job: str) -> int | None:
    """Where in the record of calls `operation` was made on training job `job` (None: never)."""
    return next(
        (
            i
            for i, c in enumerate(faults.calls)
            if c.site.operation == operation and c.params.get("TrainingJobName") == job
        ),
        None,
    )


@pytest.mark.usefixtures("jobs_keep_running", "atomic_dynamodb")
def test_a_run_that_ends_with_its_token_unsettled_stops_its_training_job(
    harness: Harness, faults: FaultInjector, monkeypatch: pytest.MonkeyPatch, figure: Figure
) -> None:
    from seam.domain import validation

    # Step Functions gives up waiting for the token after a second (both models of this test).
    monkeypatch.setattr(
        validation, "limits_for", lambda *_: TrainingLimits(timeout_seconds=3, heartbeat_seconds=1)
    )
    # An execution aborted while it waits for its token takes the reconciler's same path as FinalizeFailed
    # (ended without Finalize); moto cannot abort a task-token wait, so tests/unit covers ABORTED.
    cases = {"timeout": "HeartbeatTimeout", "finalize": "FinalizeFailed"}
    names = {"timeout": "timeout-a", "finalize": "timeout-c"}
    firsts, seconds = {}, {}
    for case, name in names.items():
        onboard(harness, name)
        event = drop_event(harness, name, "day1")
        [firsts[case]] = run_ids_for(harness, event)
        if case == "finalize":  # Finalize cannot read the run for its whole Retry budget
            faults.always(
                "dynamodb",
                "GetItem",
                FaultKind.INTERNAL_ERROR,
                function="FinalizeFunction",
                run_id=firsts[case],
            )
        harness.trigger(event)
    for case, name in names.items():
        harness.wait_for_training(firsts[case])
        later = drop_event(harness, name, "day2")  # a newer request waits for the model's lock
        [seconds[case]] = run_ids_for(harness, later)
        harness.trigger(later)
    ended = wait_all(harness, firsts.values(), timeout=60)
    faults.disarm()  # the dependency is back
    sweep = harness.stack.invoke("ReconcilerFunction", {})  # repairs the runs that ended without Finalize
    for case in cases:
        harness.wait_for_training(seconds[case])

    statuses = {case: job_status(harness, firsts[case]) for case in cases}
    order = {
        case: (
            call_index(faults, "StopTrainingJob", firsts[case]),
            call_index(faults, "CreateTrainingJob", seconds[case]),
        )
        for case in cases
    }
    assert ended == {firsts["timeout"]: "FAILED", firsts["finalize"]: "FAILED"}
    assert statuses == {case: "Stopped" for case in cases}, statuses
    for case, (stopped, created) in order.items():
        assert stopped is not None and created is not None and stopped < created, (case, order)
    assert sweep["released"] == [firsts["finalize"]]
    for case, description in cases.items():
        row = figure.row(f"training job of a run ended unsettled [{description}]")
        row.injected = {
            "timeout": "no training news: HeartbeatSeconds 1 (TimeoutSeconds 3); a newer drop waiting",
            "finalize": "HeartbeatTimeout, then Finalize's GetItem fails on every attempt; a newer drop "
            "waiting",
        }[case]
        row.expected = "the run's job stopped before the waiting run creates its own"
        row.observed = (
            f"execution {ended[firsts[case]]}; job {statuses[case]}; StopTrainingJob call #{order[case][0]} "
            f"before the next run's CreateTrainingJob #{order[case][1]}"
            + ("; by the reconciler's repair" if case != "timeout" else "; by Finalize")
        )
