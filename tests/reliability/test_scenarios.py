"""Reliability scenarios: exactly one run per intent under duplicated, lost and reordered events and
injected faults (docs/RELIABILITY.md). Each test fills in its row of the `make reliability` table.

Runs go through the real pieces: events on the template's SQS queues (polled as Lambda's event source
mapping does, RedrivePolicy included), the real handlers, the real ASL in moto's Step Functions
interpreter (Retry intervals shrunk to 1 s by the `fast_retries` fixture; MaxAttempts as in the ASL).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import pytest
from seam.adapters.serving.eks import EksServing
from seam.adapters.serving.eks_auth import ClusterEndpoint
from seam.domain.evaluation import evaluate
from seam.domain.reconciliation import SweepReport
from seam.domain.triggering import requests_for
from seam.models.events import parse_trigger_body
from seam.models.model_config import ModelConfig
from seam.models.run import (
    DatasetRef,
    DeploymentInfo,
    Registration,
    Run,
    RunStatus,
    TrainingResult,
    TriggerKind,
    WorkflowState,
)
from seam_local.kubeapi import KubeApiServer

from tests.reliability.conftest import (
    EventSource,
    Figure,
    function_timeout,
    poll_until,
    racing,
    stack_client,
)
from tests.reliability.faults import (
    ALL_KINDS,
    CallSite,
    Fault,
    FaultInjector,
    FaultKind,
    FaultyTransport,
    KubeFault,
    KubeFaultKind,
    Layer,
    tracked,
)
from tests.workflow.harness import GOOD_CSV, Harness, model_config

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

WORKFLOW_FUNCTIONS = (
    "ValidateFunction",
    "LaunchTrainingFunction",
    "EvaluateFunction",
    "RegisterFunction",
    "DeployFunction",
    "CheckRolloutFunction",
    "FinalizeFunction",
)
SQS_FUNCTIONS = ("TriggerFunction", "TrainingCallbackFunction")
INVALID_CSV = "tenure,charges,churned\n1,abc,0\n"  # fails Validate at once: a run that needs no training
SEED = 20261122
IDLE_SWEEP = SweepReport(oldest_lock_age_seconds=0.0).as_dict()  # nothing to do, no lock held


# -- helpers ----------------------------------------------------------------------------------------


def onboard(h: Harness, name: str, **overrides: Any) -> ModelConfig:
    return h.onboard(model_config(name, drift_alarms=[f"{name}-drift"], **overrides))


def drop_event(h: Harness, model: str, name: str, body: str = GOOD_CSV, at: Any = None) -> dict[str, Any]:
    return h.object_created_event(f"datasets/{model}/{name}.csv", body, at)


def run_ids_for(h: Harness, event: dict[str, Any]) -> list[str]:
    """The run ids an event maps to (the trigger's own mapping, computed before it is delivered)."""
    requests = requests_for(
        parse_trigger_body(json.dumps(event)), h.deps.models, h.bucket, h.deps.settings.stage
    )
    assert isinstance(requests, list)
    return [r.run_id for r in requests]


def list_executions(h: Harness) -> list[dict[str, Any]]:
    pages = stack_client(h, "stepfunctions").get_paginator("list_executions")
    return [
        e for page in pages.paginate(stateMachineArn=h.stack.state_machine_arn) for e in page["executions"]
    ]


def executions(h: Harness) -> list[str]:
    return [e["name"] for e in list_executions(h)]


def wait_all(h: Harness, run_ids: Iterable[str], timeout: float = 60) -> dict[str, str]:
    """The final status of each execution (one ListExecutions per poll, every 0.1 s, bounded)."""
    wanted = set(run_ids)

    def finished() -> dict[str, str] | None:
        statuses = {e["name"]: e["status"] for e in list_executions(h) if e["name"] in wanted}
        done = len(statuses) == len(wanted) and "RUNNING" not in statuses.values()
        return statuses if done else None

    return poll_until(finished, timeout, f"executions still running: {sorted(wanted)}", interval=0.1)


def state_entered_at(h: Harness, run_id: str, state: str) -> Any:
    events = stack_client(h, "stepfunctions").get_execution_history(
        executionArn=h.execution_arn(run_id), maxResults=1000
    )["events"]
    return next(e["timestamp"] for e in events if e.get("stateEnteredEventDetails", {}).get("name") == state)


def execution_error(h: Harness, run_id: str) -> str | None:
    described = stack_client(h, "stepfunctions").describe_execution(executionArn=h.execution_arn(run_id))
    return described.get("error")


def completion_events(h: Harness, run_id: str, auc: float = 0.9) -> list[dict[str, Any]]:
    """InProgress then Completed, as SageMaker emits them (the job ends Completed)."""
    h.wait_for_training(run_id)
    return [
        h.training_event(run_id, "InProgress"),
        h.training_event(run_id, "Completed", {"validation:auc": auc}),
    ]


def settlements(faults: FaultInjector) -> Counter[str]:
    """SendTaskSuccess/SendTaskFailure calls Seam made that Step Functions carried out, per task token
    (an SDK-internal retry of one call counts once)."""
    return Counter(
        c.params["taskToken"]
        for c in faults.calls
        if c.site.service == "stepfunctions"
        and c.site.operation in ("SendTaskSuccess", "SendTaskFailure")
        and c.applied
    )


def task_successes(h: Harness, run_id: str) -> int:
    """How often LaunchTraining's waitForTaskToken task succeeded in the execution's history (its
    failures also count failed launch attempts, so only successes measure the settlement)."""
    events = stack_client(h, "stepfunctions").get_execution_history(
        executionArn=h.execution_arn(run_id), maxResults=1000
    )["events"]
    return sum(
        1
        for e in events
        if e.get("taskSucceededEventDetails", {}).get("resource", "").endswith("waitForTaskToken")
    )


_SITES: dict[str, list[CallSite]] = {}


def workflow_sites(h: Harness, faults: FaultInjector) -> list[CallSite]:
    """Every (function, service, operation) a clean data-drop run goes through, from a recorded run
    (once per session: the path is the same in every test)."""
    if not _SITES:
        onboard(h, "clean")
        event = drop_event(h, "clean", "day1")
        [run_id] = run_ids_for(h, event)
        h.trigger(event)
        h.finish_training(run_id)
        assert h.wait_execution(run_id)["status"] == "SUCCEEDED"
        functions = set(WORKFLOW_FUNCTIONS) | set(SQS_FUNCTIONS)
        _SITES["all"] = faults.call_sites(functions)
        # Sites whose every call fails by design (e.g. DescribeModelPackageGroup before the group
        # exists): a lost response there loses nothing.
        ok = {c.site for c in faults.calls if c.status is not None and c.status < 300}
        _SITES["succeeding"] = [s for s in _SITES["all"] if s in ok]
        faults.calls.clear()
    return _SITES["all"]


def succeeding_sites() -> list[CallSite]:
    return _SITES["succeeding"]


def by_function(sites: Iterable[CallSite]) -> dict[str, list[CallSite]]:
    grouped: dict[str, list[CallSite]] = {}
    for site in sites:
        grouped.setdefault(site.function or "-", []).append(site)
    return grouped


def mentions(run_id: str, model: str) -> Callable[[dict[str, Any]], bool]:
    """A call's parameters name this run, or this model as a key."""
    key = json.dumps({"S": model})

    def check(params: dict[str, Any]) -> bool:
        text = json.dumps(params, default=str)
        return run_id in text or key in text

    return check


def spread(sites: list[CallSite], per_function: int = 2) -> list[list[CallSite]]:
    """Rounds of call sites with at most `per_function` sites of each function, so no state of a run
    sees more faults than its Retry allows (MaxAttempts >= 3 everywhere in the ASL)."""
    grouped = by_function(sites)
    rounds = -(-max(len(v) for v in grouped.values()) // per_function)
    return [
        [site for of_function in grouped.values() for site in of_function[i::rounds]] for i in range(rounds)
    ]


# -- 1. duplicated and reordered events ----------------------------------------------------------------


def test_duplicated_shuffled_and_late_events_start_one_run_per_intent_and_change_nothing_after(
    harness: Harness, faults: FaultInjector, event_source: Callable[..., EventSource], figure: Figure
) -> None:
    rng = random.Random(SEED)
    for name in ("dup-a", "dup-b", "dup-c", "dup-d"):
        onboard(harness, name)
    for name in ("dup-c", "dup-d"):  # drift runs retrain on the latest drop already there
        harness.stack.client("s3").put_object(
            Bucket=harness.bucket, Key=f"datasets/{name}/base.csv", Body=GOOD_CSV.encode()
        )
    intents = [
        drop_event(harness, "dup-a", "day1"),
        drop_event(harness, "dup-b", "day1"),
        harness.alarm_event("dup-c-drift"),
        harness.alarm_event("dup-d-drift"),
    ]
    expected_runs = {r for event in intents for r in run_ids_for(harness, event)}
    deliveries = [e for e in intents for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    trigger = event_source("trigger", batch_size=3)
    trigger.send(*deliveries)
    trigger.drain()

    started = executions(harness)
    assert sorted(started) == sorted(expected_runs)

    training = [e for run_id in expected_runs for e in completion_events(harness, run_id)]
    sagemaker = [e for e in training for _ in range(rng.randint(1, 3))]
    rng.shuffle(sagemaker)  # a Completed event may come before its InProgress
    callback = event_source("callback", batch_size=4)
    callback.send(*sagemaker)
    callback.drain()
    statuses = wait_all(harness, expected_runs)

    settled = settlements(faults)
    tokens = {harness.deps.tokens.get(r).task_token for r in expected_runs}  # type: ignore[union-attr]
    assert statuses == dict.fromkeys(expected_runs, "SUCCEEDED")
    assert all(harness.run(r).status is RunStatus.DEPLOYED for r in expected_runs)
    assert set(settled) == tokens and set(settled.values()) == {1}
    assert len(executions(harness)) == len(expected_runs)
    row = figure.row("events delivered 1-3x, shuffled")
    row.injected = (
        f"{len(intents)} intents (2 S3 drops, 2 alarms) as {len(deliveries)} deliveries; "
        f"{len(training)} SageMaker events as {len(sagemaker)} deliveries; shuffled (seed {SEED})"
    )
    row.expected = f"{len(intents)} runs, 1 settlement per token, 0 duplicates"
    row.observed = (
        f"{len(started)} runs started ({len(started) / len(intents):.0f}/intent), "
        f"{sum(settled.values())} settlements for {len(tokens)} tokens, "
        f"{len(deliveries) - len(intents) + len(sagemaker) - len(training)} duplicate deliveries absorbed, "
        f"{len(executions(harness)) - len(expected_runs)} extra executions"
    )

    # -- then late: every event again, and worse news, after the runs ended --------------------------
    before = {r: harness.run(r).model_dump() for r in expected_runs}
    champions = {m: harness.deps.versions.champion(m) for m in ("dup-a", "dup-b", "dup-c", "dup-d")}
    calls = len(faults.calls)
    late = [
        harness.training_event(run_id, status, metrics, reason)
        for run_id in expected_runs
        for status, metrics, reason in (
            ("Completed", {"validation:auc": 0.1}, None),
            ("Failed", None, "AlgorithmError: late"),
            ("Stopped", None, None),
            ("InProgress", None, None),
        )
    ]
    callback.send(*late)
    callback.drain()
    trigger.send(*intents)
    trigger.drain()
    harness.deps.settings = harness.deps.settings._replace(training_stale_after_seconds=0)
    sweep = harness.stack.invoke("ReconcilerFunction", {})

    assert {r: harness.run(r).model_dump() for r in expected_runs} == before
    assert {m: harness.deps.versions.champion(m) for m in champions} == champions
    assert len(executions(harness)) == len(expected_runs)
    writes = [
        c
        for c in faults.calls[calls:]
        if c.site.operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat", "StartExecution")
        or (
            c.site.operation in ("UpdateItem", "PutItem", "DeleteItem")
            and c.site.function != "TriggerFunction"
        )
    ]
    assert writes == []
    assert sweep == IDLE_SWEEP
    assert callback.dead_letters() == [] and trigger.dead_letters() == []
    row = figure.row("late events after a terminal status")
    row.injected = (
        f"after {len(expected_runs)} runs DEPLOYED: SageMaker Completed(auc 0.1)/Failed/Stopped/InProgress "
        f"for each ({len(late)}), every trigger event again ({len(intents)}), a reconciler sweep"
    )
    row.expected = "run records, champions, executions unchanged; no SendTask*, StartExecution or run write"
    row.observed = (
        f"{len(expected_runs)} run records and champions unchanged; executions {len(executions(harness))}; "
        f"SendTask*/StartExecution/run writes {len(writes)}; sweep idle; DLQ 0"
    )


# -- 2. every SageMaker event lost ----------------------------------------------------------------------


def test_lost_training_events_are_settled_by_the_reconciler(
    harness: Harness, faults: FaultInjector, event_source: Callable[..., EventSource], figure: Figure
) -> None:
    harness.deps.settings = harness.deps.settings._replace(
        training_stale_after_seconds=0
    )  # every TRAINING run counts as stale
    outcomes = {"lost-ok": "Completed", "lost-fail": "Failed", "lost-slow": "InProgress"}
    run_ids = {}
    for name in outcomes:
        onboard(harness, name)
        harness.drop(name, name="day1")
        run_ids[name] = harness.only_run_id(name)
    for name, status in outcomes.items():
        harness.wait_for_training(run_ids[name])
        harness.training_event(
            run_ids[name],
            status,
            {"validation:auc": 0.9} if status == "Completed" else None,
            "AlgorithmError: out of memory" if status == "Failed" else None,
        )  # the event itself is never delivered
    callback = event_source("callback")  # the reconciler's checks arrive on it

    first = harness.stack.invoke("ReconcilerFunction", {})
    calls = len(faults.calls)
    callback.drain()
    sent_first = task_calls(harness, faults.calls[calls:], run_ids.values())
    harness.training_event(run_ids["lost-slow"], "Completed", {"validation:auc": 0.91})
    second = harness.stack.invoke("ReconcilerFunction", {})
    calls = len(faults.calls)
    callback.drain()
    sent_second = task_calls(harness, faults.calls[calls:], run_ids.values())
    statuses = wait_all(harness, run_ids.values())

    assert sorted(first["checks_sent"]) == sorted(run_ids.values())
    assert sent_first == {
        run_ids["lost-ok"]: ["SendTaskSuccess"],
        run_ids["lost-fail"]: ["SendTaskFailure"],
        run_ids["lost-slow"]: ["SendTaskHeartbeat"],
    }
    # Runs the first checks settled may still read TRAINING (their workflow has not moved yet): their
    # second check finds the token sent and sends nothing again.
    assert run_ids["lost-slow"] in second["checks_sent"]
    assert sent_second == {run_ids["lost-slow"]: ["SendTaskSuccess"]}
    assert statuses == {
        run_ids["lost-ok"]: "SUCCEEDED",
        run_ids["lost-fail"]: "FAILED",
        run_ids["lost-slow"]: "SUCCEEDED",
    }
    assert harness.run(run_ids["lost-fail"]).error == "TrainingFailed"
    assert all(harness.deps.locks.get(name) is None for name in outcomes)
    settled = settlements(faults)
    assert len(settled) == 3 and set(settled.values()) == {1}
    assert callback.dead_letters() == []
    figure.scenario = "every SageMaker completion event lost"
    figure.injected = "all SageMaker state-change events dropped (3 runs: Completed, Failed, slow)"
    figure.expected = (
        "reconciler has each checked; each token settled once; DEPLOYED / FAILED(TrainingFailed) / DEPLOYED"
    )
    figure.observed = (
        f"sweep 1 checks {len(first['checks_sent'])}: {sorted(chain(*sent_first.values()))}; "
        f"sweep 2 checks {len(second['checks_sent'])}: {sorted(chain(*sent_second.values()))}; "
        f"runs {sorted(harness.run(r).status.value for r in run_ids.values())}; "
        f"{sum(settled.values())} settlements for 3 tokens; locks left {len(harness.deps.locks.list())}"
    )


def task_calls(h: Harness, calls: list[Any], run_ids: Iterable[str]) -> dict[str, list[str]]:
    """SendTask* calls Step Functions carried out, by the run whose task token they carried."""
    tokens = {h.deps.tokens.get(r).task_token: r for r in run_ids}  # type: ignore[union-attr]
    sent: dict[str, list[str]] = {}
    for call in calls:
        if call.site.operation.startswith("SendTask") and call.applied:
            sent.setdefault(tokens[call.params["taskToken"]], []).append(call.site.operation)
    return sent


# -- 3. every call site faulted once -----------------------------------------------------------------


VARIANTS = {
    # Seam's own recovery: the state's Retry, SQS redelivery (the fault outlived the SDK's retries).
    "call": (Layer.CALL,),
    # Inside botocore's retry loop: an error, then a lost response whose request was applied.
    "send+lost": (Layer.SEND, Layer.LOST),
    # Applied, and the ReadTimeoutError reaches Seam: the retried work meets its own earlier effect.
    "lost-after": (Layer.LOST_AFTER,),
}
LAYER_WORDS = {
    Layer.CALL: "error before the request (SDK retries bypassed)",
    Layer.SEND: "error, not applied, SDK retries",
    Layer.LOST: "applied, response lost, SDK retries",
    Layer.LOST_AFTER: "applied, response lost, error reaches Seam",
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_call_site_faulted_once_still_completes_every_run(
    harness: Harness,
    faults: FaultInjector,
    event_source: Callable[..., EventSource],
    figure: Figure,
    variant: str,
) -> None:
    layers = VARIANTS[variant]
    sites = workflow_sites(harness, faults)
    before = set(executions(harness))
    rounds = spread(sites)
    kinds = iter(ALL_KINDS * 2 * len(sites))
    lossy = any(layer in (Layer.LOST, Layer.LOST_AFTER) for layer in layers)
    if lossy:
        # Time as deployed, scaled down: SQS visibility (180 s) above the function timeout (30 s).
        function_timeout(harness, "TriggerFunction", 0.5)
    visibility = 1 if lossy else 0
    trigger = event_source("trigger", visibility_timeout=visibility)
    callback = event_source("callback", visibility_timeout=visibility)
    armed: list[Fault] = []
    succeeding = set(succeeding_sites())

    def arm(site: CallSite, **scope: Any) -> None:
        for layer in layers:
            if layer in (Layer.LOST, Layer.LOST_AFTER) and site not in succeeding:
                continue  # the call fails by design (e.g. a group not there yet): nothing to lose
            kind = next(kinds) if layer in (Layer.CALL, Layer.SEND) else FaultKind.READ_TIMEOUT
            armed.append(faults.add(Fault.at(site, kind=kind, layer=layer, times=1, **scope)))

    events, run_ids = [], []
    for number, sites_of_round in enumerate(rounds):
        name = f"once-{number}"
        onboard(harness, name)
        events.append(drop_event(harness, name, "day1"))
        [run_id] = run_ids_for(harness, events[-1])
        run_ids.append(run_id)
        for site in sites_of_round:
            if site.function not in SQS_FUNCTIONS:
                arm(site, run_id=run_id)
    # The trigger's faults are aimed at calls that name the run or its model: it starts a batch's
    # runs together (one read for all), so a call can serve several messages.
    for number, (run_id, sites_of_round) in enumerate(zip(run_ids, rounds, strict=True)):
        for site in sites_of_round:
            if site.function == "TriggerFunction":
                arm(site, where=mentions(run_id, f"once-{number}"))
    trigger.send(*events)
    trigger.drain()
    # The callback's faults are aimed at the run's own message.
    completions = [completion_events(harness, run_id)[-1] for run_id in run_ids]
    for message_id, sites_of_round in zip(callback.send(*completions), rounds, strict=True):
        for site in sites_of_round:
            if site.function == "TrainingCallbackFunction":
                arm(site, message_id=message_id)
    callback.drain()
    statuses = wait_all(harness, run_ids)

    unfired = [f"{f.function}:{f.service}.{f.operation}/{f.layer}" for f in armed if f.fired != 1]
    assert unfired == []
    assert statuses == dict.fromkeys(run_ids, "SUCCEEDED")
    assert all(harness.run(r).status is RunStatus.DEPLOYED for r in run_ids)
    assert set(executions(harness)) - before == set(run_ids)
    settled = settlements(faults)
    closings = [task_successes(harness, r) for r in run_ids]
    assert closings == [1] * len(run_ids)  # Step Functions closed each training task once
    assert len(settled) == len(run_ids)
    if Layer.LOST_AFTER not in layers:
        assert set(settled.values()) == {1}
    # else: a SendTaskSuccess whose answer was lost is sent again; Step Functions rejects the second
    # (moto accepts it, which is why the closings above are the measure).
    assert trigger.dead_letters() == [] and callback.dead_letters() == []
    redelivered = sum(n - 1 for n in (trigger.receives + callback.receives).values())
    figure.scenario = f"every call site faulted once [{variant}]"
    figure.injected = (
        f"{len(sites)} call sites x 1 per kind ({'; '.join(LAYER_WORDS[layer] for layer in layers)}): "
        f"{faults.summary()}; {len(rounds)} runs"
    )
    figure.expected = f"{len(rounds)} runs DEPLOYED, 1 settlement per token, nothing dead-lettered"
    figure.observed = (
        f"{sum(s == 'SUCCEEDED' for s in statuses.values())}/{len(run_ids)} DEPLOYED; "
        f"{sum(closings)} task settlements for {len(run_ids)} tokens ({sum(settled.values())} SendTask* "
        f"calls accepted); SQS redeliveries {redelivered}; DLQ 0; "
        f"{len(set(executions(harness)) - before)} executions"
    )


# -- 4. every call site faulted permanently --------------------------------------------------------------


# Finalize's reads for the run's cost (seam.domain.costing.CostMeter): their failure leaves the cost
# unknown with the reason and never fails Finalize.
COST_READS = frozenset({("sagemaker", "DescribeTrainingJob"), ("stepfunctions", "GetExecutionHistory")})


def is_cost_read(site: CallSite) -> bool:
    return site.function == "FinalizeFunction" and (site.service, site.operation) in COST_READS


def _cause_names_the_call(run: Run, site: CallSite) -> bool:
    return site.operation in (run.cause or "")


def test_every_call_site_faulted_permanently_fails_the_run_naming_the_call(
    harness: Harness,
    faults: FaultInjector,
    event_source: Callable[..., EventSource],
    figure: Figure,
) -> None:
    """One run per call site of the workflow's states, all at once; each run meets an InternalServerError
    on every call at its site; some have a second request waiting for the model's lock."""
    sites = [s for s in workflow_sites(harness, faults) if s.function in WORKFLOW_FUNCTIONS]
    # The lock's way out differs per Finalize call site; for the other states Finalize itself runs
    # unfaulted, so one pending request per state shows the hand-over.
    with_pending = {s for s in sites if s.function == "FinalizeFunction"} | {
        of_function[0] for of_function in by_function(sites).values()
    }
    trigger, callback = event_source("trigger"), event_source("callback")
    plans: list[tuple[CallSite, str, str, str | None]] = []  # site, model, run id, pending run id
    firsts, pendings = [], []
    for number, site in enumerate(sites):
        name = f"perm-{number}"
        onboard(harness, name)
        firsts.append(drop_event(harness, name, "day1"))
        [run_id] = run_ids_for(harness, firsts[-1])
        faults.add(Fault.at(site, kind=FaultKind.INTERNAL_ERROR, times=None, run_id=run_id))
        pending_id = None
        # With a request pending, Finalize hands the lock over (UpdateItem) and never deletes it.
        if site in with_pending and (site.function, site.operation) != ("FinalizeFunction", "DeleteItem"):
            pendings.append(drop_event(harness, name, "day2", INVALID_CSV))  # ends at Validate by itself
            [pending_id] = run_ids_for(harness, pendings[-1])
        plans.append((site, name, run_id, pending_id))
    trigger.send(*firsts)
    trigger.drain()
    trigger.send(*pendings)
    trigger.drain()
    trained = [run_id for site, _, run_id, _ in plans if site.function not in WORKFLOW_FUNCTIONS[:2]]
    callback.send(*(e for run_id in trained for e in completion_events(harness, run_id)))
    callback.drain()
    first_statuses = wait_all(harness, [run_id for _, _, run_id, _ in plans], timeout=90)
    errors = {run_id: execution_error(harness, run_id) for _, _, run_id, _ in plans}
    faults.disarm()  # the dependency is back: the reconciler repairs what Finalize could not
    sweep = harness.stack.invoke("ReconcilerFunction", {})
    pending_statuses = wait_all(harness, [p for *_, p in plans if p])

    for site, name, run_id, pending_id in plans:
        run = harness.run(run_id)
        if is_cost_read(site):  # by design: the run ends as it would, its cost unknown naming the call
            assert first_statuses[run_id] == "SUCCEEDED" and run.status is RunStatus.DEPLOYED, site
            assert run.cost is not None and run.cost.total_usd is None, site
            assert site.operation in (run.cost.unknown_reason or ""), (site, run.cost.unknown_reason)
            assert harness.deps.locks.get(name) is None, site
            if pending_id:
                assert pending_statuses[pending_id] == "FAILED", site
            continue
        assert first_statuses[run_id] == "FAILED", site
        assert harness.deps.locks.get(name) is None, site  # released (by Finalize or the reconciler)
        if pending_id:
            assert pending_statuses[pending_id] == "FAILED", site  # it ran (and failed on its bad data)
            assert harness.run(pending_id).error == "DataValidationError", site
        if site.function == "FinalizeFunction":
            assert errors[run_id] == "FinalizeFailed", site
            assert run.status.terminal, site
        else:
            assert run.status is RunStatus.FAILED and site.operation in (run.cause or ""), (site, run.cause)
    assert {i.site for i in faults.injected} == set(sites)

    cost_reads = [p for p in plans if is_cost_read(p[0])]
    row = figure.row("Finalize's cost reads faulted permanently")
    row.injected = (
        f"{len(cost_reads)} call sites ({', '.join(p[0].operation for p in cost_reads)}) x "
        "InternalServerError on every call, one run each"
    )
    row.expected = "the run ends as it would (DEPLOYED); its cost unknown, the reason naming the call"
    row.observed = (
        f"{sum(1 for p in cost_reads if harness.run(p[2]).status is RunStatus.DEPLOYED)}/{len(cost_reads)} "
        f"DEPLOYED, cost unknown naming the call; locks left 0"
    )
    for function, of_function in by_function(s for s in sites if not is_cost_read(s)).items():
        mine = [p for p in plans if p[0].function == function and not is_cost_read(p[0])]
        pending = sum(1 for *_, p in mine if p)
        row = figure.row(f"every call site faulted permanently [{function}]")
        row.injected = (
            f"{len(of_function)} call sites x InternalServerError on every call, one run each, "
            f"{pending} with a pending request "
            f"({sum(1 for i in faults.injected if i.site.function == function)} injections)"
        )
        if function == "FinalizeFunction":
            ids = {r for _, _, r, _ in mine}
            row.expected = (
                "FinalizeFailed; reconciler releases the lock, ends the run, starts the pending one"
            )
            row.observed = (
                f"{len(mine)}/{len(mine)} FinalizeFailed; reconciler released "
                f"{len(ids & set(sweep['released']))}; runs "
                f"{sorted(harness.run(r).status.value for r in ids)}; locks left 0; "
                f"{pending}/{pending} pending runs ran"
            )
        else:
            example = (harness.run(mine[-1][2]).cause or "").removeprefix("TransientError: ")
            row.expected = "run FAILED, cause names the call; lock released; pending run started"
            row.observed = (
                f"{len(mine)}/{len(mine)} FAILED naming the call (e.g. {example[:64]!r}); locks left 0; "
                f"{pending}/{pending} pending runs ran"
            )


# -- 5. a crash mid-batch, redelivery and the dead-letter queue ------------------------------------------


def test_a_crash_mid_batch_is_redelivered_then_dead_lettered(
    harness: Harness,
    faults: FaultInjector,
    event_source: Callable[..., EventSource],
    figure: Figure,
    logs: Any,
) -> None:
    for name in ("dlq-a", "dlq-b", "dlq-crash"):
        onboard(harness, name)
    # A bug on every call that names the model: the batch's shared read crashes too, and the trigger
    # goes one by one, so only this record fails.
    for operation in ("GetItem", "BatchGetItem"):
        faults.always(
            "dynamodb",
            operation,
            FaultKind.CRASH,
            function="TriggerFunction",
            where=mentions("dlq-crash-", "dlq-crash"),
        )
    trigger = event_source("trigger")
    # Invalid data: the good drops' runs end at Validate by themselves (no training to wait for).
    good = [drop_event(harness, n, "day1", INVALID_CSV) for n in ("dlq-a", "dlq-b")]
    crash_event = drop_event(harness, "dlq-crash", "day1")
    ids = trigger.send(good[0], crash_event, good[1])
    trigger.drain()
    [poison_id] = trigger.send("{not json")  # alone in its batch: the whole invocation fails
    trigger.drain()

    max_receives = trigger.max_receive_count
    dead = {m["MessageId"]: m for m in trigger.dead_letters()}
    started = executions(harness)
    assert sorted(started) == sorted(run_ids_for(harness, e)[0] for e in good)
    wait_all(harness, started)
    assert trigger.receives[ids[1]] == max_receives and trigger.receives[poison_id] == max_receives
    assert trigger.receives[ids[0]] == trigger.receives[ids[2]] == 1
    assert set(dead) == {ids[1], poison_id}
    assert json.loads(dead[ids[1]]["Body"]) == crash_event
    assert trigger.failed_records == 2 * max_receives
    text = logs.getvalue()
    assert "InjectedCrash" in text and "rejected trigger message" in text
    figure.scenario = "handler crash mid-batch -> DLQ"
    figure.injected = (
        "batch [drop, drop that crashes the handler, drop] + a lone non-JSON message; "
        f"SQS queue with the template's RedrivePolicy (maxReceiveCount {max_receives}), visibility 0"
    )
    figure.expected = (
        f"good records start once; crashing/poison records received {max_receives}x then in the DLQ"
    )
    figure.observed = (
        f"{len(started)} runs started; crash record received {trigger.receives[ids[1]]}x, poison "
        f"{trigger.receives[poison_id]}x ({trigger.crashed_invocations} failed invocations); "
        f"DLQ holds {len(dead)} (both, bodies intact); good records received once"
    )


# -- 6. two triggers racing for one model ---------------------------------------------------------------


def second_container(harness: Harness, logical_id: str) -> Callable[[dict[str, Any]], Any]:
    """The same function in another Lambda container: its own module (batch processor, caches)."""
    import importlib.util

    spec = harness.stack.functions[logical_id]
    loader = importlib.util.spec_from_file_location(
        f"{spec.code_dir.name}_container_2", spec.code_dir / "app.py"
    )
    assert loader and loader.loader
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    from seam_local.moto_hooks import LambdaContext

    arn = harness.stack.template.arn(logical_id)
    handler = tracked(logical_id, module.lambda_handler)
    return lambda event: handler(event, LambdaContext(spec.name, arn))


def test_two_triggers_racing_for_one_model_start_one_run_and_keep_one_pending(
    harness: Harness, faults: FaultInjector, atomic_dynamodb: None, figure: Figure
) -> None:
    from tests.workflow.harness import sqs_event

    containers = [
        lambda event: harness.stack.invoke("TriggerFunction", event),
        second_container(harness, "TriggerFunction"),
    ]
    models = [f"race-{n}" for n in range(6)]
    intents: dict[str, list[str]] = {}
    for name in models:
        onboard(harness, name)
        # Invalid data: each run ends at Validate, so the pending one starts without any training.
        events = [drop_event(harness, name, day, INVALID_CSV) for day in ("day1", "day2")]
        intents[name] = [run_ids_for(harness, e)[0] for e in events]
        with racing(2) as spawn:
            for container, event in zip(containers, events, strict=True):
                spawn(lambda container=container, event=event: container(sqs_event(event)))
    wait_all(harness, [newer for _, newer in intents.values()])  # the newest intent always runs

    started_by = Counter(
        (c.site.function, c.params["name"].rsplit("-", 1)[0])
        for c in faults.calls
        if c.site.operation == "StartExecution" and c.applied
    )
    history = {e["name"]: e for e in list_executions(harness)}
    overlaps = superseded = 0
    for name, (older, newer) in intents.items():
        ran = sorted(r for r in history if r.startswith(f"seam-test-{name}-"))
        assert started_by[("TriggerFunction", f"seam-test-{name}")] == 1  # one started, the other not
        if older not in ran:  # the newer drop took the lock first: the older one is superseded
            superseded += 1
            assert ran == [newer] and started_by[("FinalizeFunction", f"seam-test-{name}")] == 0
        else:  # the older one took it: the newer waited as the pending retrain, started at hand-over
            assert ran == sorted([older, newer])
            assert started_by[("FinalizeFunction", f"seam-test-{name}")] == 1
            # The lock passes in the first run's Finalize: the second may only start after it began.
            overlaps += history[newer]["startDate"] < state_entered_at(harness, older, "Finalize")
        assert harness.deps.locks.get(name) is None
    assert overlaps == 0
    figure.scenario = "two triggers racing for one model"
    figure.injected = f"{len(models)} models x 2 drops (day1, then day2), triggered at once from 2 containers"
    figure.expected = "per model: day2 always runs; day1 runs first or is superseded; never 2 at once"
    figure.observed = (
        f"{sum(v for (f, _), v in started_by.items() if f == 'TriggerFunction')} started by the trigger, "
        f"{sum(v for (f, _), v in started_by.items() if f == 'FinalizeFunction')} at hand-over, "
        f"{superseded} older drops superseded, {overlaps} overlapping runs, "
        f"locks left {len(harness.deps.locks.list())}"
    )


# -- 7. champion / challenger race -------------------------------------------------------------------------


def deployed_state(h: Harness, config: ModelConfig, run_id: str, auc: float, version: str) -> WorkflowState:
    """A run at Finalize after a successful rollout, evaluated against the champion of now."""
    dataset = DatasetRef(bucket=h.bucket, key=f"datasets/{config.name}/{run_id}.csv", etag=run_id)
    h.deps.runs.create(Run(run_id=run_id, model=config.name, trigger=TriggerKind.DATA, dataset=dataset))
    h.deps.runs.update(run_id, status=RunStatus.DEPLOYING)
    metrics = {"validation:auc": auc}
    return WorkflowState(
        run_id=run_id,
        model=config.name,
        trigger=TriggerKind.DATA,
        dataset=dataset,
        training=TrainingResult(
            job_name=run_id,
            status="Completed",
            metrics=metrics,
            model_artifact_uri=f"s3://{h.bucket}/models/{run_id}/model.tar.gz",
            image=config.training.image,
        ),
        evaluation=evaluate(config.evaluation, metrics, h.deps.versions.champion(config.name)),
        registration=Registration(
            version=version, model_package_arn=f"arn:{version}", approval="Approved", deployable=True
        ),
        deployment=DeploymentInfo(generation=2, state="done"),
    )


def test_a_champion_challenger_race_never_promotes_the_worse_model(
    harness: Harness, atomic_dynamodb: None, figure: Figure
) -> None:
    from seam.models.champion import Champion

    def finalize(state: WorkflowState) -> None:
        harness.stack.invoke("FinalizeFunction", state.dump())

    outcomes: Counter[str] = Counter()
    for number in range(6):
        config = onboard(harness, f"champ-{number}")
        harness.deps.versions.promote(
            Champion(model=config.name, version="000001", metric="validation:auc", value=0.90, run_id="r1"),
            replaces=None,
        )
        better = deployed_state(harness, config, f"seam-test-{config.name}-better", 0.95, "000002")
        worse = deployed_state(harness, config, f"seam-test-{config.name}-worse", 0.92, "000003")
        assert better.evaluation.decision == worse.evaluation.decision == "promote"  # type: ignore[union-attr]
        if number == 0:  # the worse one's Finalize comes second
            finalize(better)
            finalize(worse)
        else:  # both at once
            with racing(2) as spawn:
                spawn(lambda better=better: finalize(better))
                spawn(lambda worse=worse: finalize(worse))
        champion = harness.deps.versions.champion(config.name)
        runs = {r.run_id: r for r in (harness.run(better.run_id), harness.run(worse.run_id))}
        winner = next(r for r in runs.values() if r.status is RunStatus.DEPLOYED)
        loser = next(r for r in runs.values() if r.status is not RunStatus.DEPLOYED)
        assert champion is not None and champion.run_id == winner.run_id
        assert loser.status is RunStatus.FAILED and (loser.cause or "").startswith("ChampionMoved")
        if number == 0:
            assert champion.value == 0.95
        else:
            outcomes[
                "better won" if winner.run_id == better.run_id else "worse first (then better refused)"
            ] += 1
        # The pointer moved once, from the version both were compared with; never from worse to better
        # or back without a comparison.
        assert champion.version in ("000002", "000003")
    figure.scenario = "champion/challenger race"
    figure.injected = (
        "6 models: champion 0.90; challengers 0.95 and 0.92 both evaluated against it; Finalize "
        "sequential (better first) once, concurrently 5x"
    )
    figure.expected = (
        "pointer moves once, from the version both were compared with; the later Finalize is refused "
        "(ChampionMoved); the worse never replaces the better"
    )
    figure.observed = (
        f"6/6: one DEPLOYED + one ChampionMoved; concurrent: {outcomes['better won']}x better first, "
        f"{outcomes['worse first (then better refused)']}x worse first (it beat 0.90; the better was "
        "refused, not lost silently); sequential: worse refused, champion 0.95"
    )


# -- 8. Kubernetes API faults -----------------------------------------------------------------------------


@pytest.fixture
def kube(harness: Harness) -> Any:
    import ssl

    import httpx2

    from tests.workflow.test_eks_serving import NAME, NAMESPACE, SERVING_BEFORE

    with KubeApiServer(step_seconds=0.02, fail_after_steps=3) as server:
        server.apply_deployment(SERVING_BEFORE)
        assert server.wait_for_rollout(NAMESPACE, NAME) == "complete"
        context = ssl.create_default_context(cadata=server.ca_pem.decode())  # type: ignore[union-attr]
        transport = FaultyTransport(httpx2.HTTPTransport(verify=context))
        harness.deps.serving = EksServing(
            frozenset({"seam-local"}),
            resolve_cluster=lambda name: ClusterEndpoint(name, server.url, server.ca_data),
            transport=transport,
            sleep=lambda seconds: None,  # the adapter's conflict backoff
        )
        harness.deps.settings = harness.deps.settings._replace(rollout_max_checks=1000)
        yield server, transport
        transport.close()


def test_kubernetes_api_faults_once_are_retried_and_an_api_that_stays_down_fails_the_run(
    harness: Harness, kube: Any, figure: Figure
) -> None:
    from tests.workflow.harness import IMAGE
    from tests.workflow.test_eks_serving import NAME, NAMESPACE

    server, transport = kube
    for fault in (
        KubeFault(KubeFaultKind.CONFLICT),  # the adapter's own 409 retry
        KubeFault(KubeFaultKind.RESET),  # TransientError: Deploy's Retry
        KubeFault(KubeFaultKind.RESET_AFTER),  # applied, answer lost: Deploy retried, same patch
        KubeFault(KubeFaultKind.SERVER_ERROR, method="GET"),  # first read of the deployment
    ):
        transport.add(fault)
    harness.deps.models.put(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, auc=0.9)

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    run = harness.run(run_id)
    template = server.get_deployment(NAMESPACE, NAME)["spec"]["template"]
    assert run.status is RunStatus.DEPLOYED
    assert [c["image"] for c in template["spec"]["containers"]] == [IMAGE]
    assert template["metadata"]["annotations"]["seam.dev/run-id"] == run_id
    assert run.previous_serving["container"]["image"] == "registry/churn:previous"  # type: ignore[index]
    assert [f.fired for f in transport.faults] == [1, 1, 1, 1]
    patches = [r for r in transport.requests if r[0] == "PATCH"]
    row = figure.row("Kubernetes API faulted once")
    row.injected = "409 on PATCH, reset before a PATCH, reset after an applied PATCH, 500 on a GET"
    row.expected = "run DEPLOYED; Deployment holds the new image; rollback spec = the original"
    row.observed = (
        f"run {run.status.value}; {len(patches)} PATCH requests ({sum(1 for p in patches if p[2])} reached "
        f"the API); image and run annotation set; recorded previous image "
        f"{run.previous_serving['container']['image']}"  # type: ignore[index]
    )

    # -- then the API stays down for the next version -----------------------------------------------------
    before = server.get_deployment(NAMESPACE, NAME)["spec"]["template"]
    transport.add(KubeFault(KubeFaultKind.SERVER_ERROR, times=None))
    harness.drop("churn", body=GOOD_CSV + "61,91.5,1\n", name="day2")
    second = next(r.run_id for r in harness.deps.runs.list_for_model("churn") if r.run_id != run_id)
    harness.finish_training(second, auc=0.95)

    assert harness.wait_execution(second)["status"] == "FAILED"
    failed = harness.run(second)
    assert failed.status is RunStatus.FAILED
    assert f"deployment {NAMESPACE}/{NAME} in cluster seam-local: HTTP 500" in (failed.cause or "")
    assert server.get_deployment(NAMESPACE, NAME)["spec"]["template"] == before
    assert harness.deps.locks.get("churn") is None
    assert harness.deps.versions.champion("churn").run_id == run_id  # type: ignore[union-attr]
    row = figure.row("Kubernetes API down")
    row.injected = "the API answers 500 to every PATCH of the Deployment"
    row.expected = "run FAILED naming the Deployment and HTTP 500; serving untouched; lock released"
    row.observed = (
        f"run FAILED ({(failed.cause or '')[16:96]!r}); {transport.faults[-1].fired} PATCH attempts "
        "refused; template unchanged; lock released; champion unchanged"
    )
