"""The reconciler's sweep at scale: running holders cost one ListExecutions pass, not calls per lock;
dead holders are still repaired; work past the time budget is left for the next sweep."""

from __future__ import annotations

import pytest
from seam.dependencies import Dependencies
from seam.domain.reconciliation import Reconciler
from seam.domain.training import OrphanedJobs, TrainingSettler
from seam.models.run import Run, RunRequest, RunStatus, TriggerKind
from seam_local.moto_hooks import set_training_job

from tests.unit.conftest import Faults, running_job

pytestmark = pytest.mark.tables("RunsTable", "LocksTable", "TaskTokensTable")


def hold(deps: Dependencies, model: str, start: bool = True) -> str:
    """`model`'s lock held by a new run, recorded, and (when `start`) its execution started."""
    request = RunRequest(model=model, trigger=TriggerKind.MANUAL, intent=f"manual|{model}")
    deps.locks.acquire(request)
    deps.runs.create(Run(run_id=request.run_id, model=model, trigger=request.trigger))
    if start:
        assert deps.workflow.start(request.run_id, {"run_id": request.run_id, "model": model})
    return request.run_id


def reconciler(deps: Dependencies) -> Reconciler:
    settler = TrainingSettler(deps.tokens, deps.runs, deps.workflow, claimant="reconciler")
    jobs = OrphanedJobs(deps.tokens, deps.training)
    return Reconciler(deps.runs, deps.locks, deps.training, deps.workflow, settler, jobs)


def test_locks_of_running_executions_cost_one_list_call_not_a_describe_each(
    deps: Dependencies, state_machine: str, faults: Faults
) -> None:
    holders = [hold(deps, f"model-{i}") for i in range(5)]
    faults.calls.clear()

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    assert (report.locks_checked, report.released, report.resumed, report.deferred) == (0, [], [], 0)
    assert faults.count("sfn", "ListExecutions") == 1
    assert faults.count("sfn", "DescribeExecution") == 0
    assert [deps.locks.get(f"model-{i}").holder for i in range(5)] == holders


def test_a_holder_missing_from_the_running_list_is_checked_and_its_dead_execution_repaired(
    deps: Dependencies, state_machine: str, faults: Faults
) -> None:
    alive = hold(deps, "alive")
    dead = hold(deps, "dead")
    never_started = hold(deps, "lost", start=False)
    deps.workflow.sfn.stop_execution(executionArn=deps.workflow.execution_arn(dead))  # ended, no Finalize
    faults.calls.clear()

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    assert report.locks_checked == 2
    assert report.released == [dead]
    assert report.resumed == [never_started]  # its lock was held but StartExecution never happened
    assert deps.locks.get("dead") is None
    failed = deps.runs.get(dead)
    assert failed is not None and failed.status is RunStatus.FAILED and failed.error == "ExecutionEnded"
    assert deps.locks.get("alive").holder == alive
    assert deps.workflow.execution_status(never_started) == "RUNNING"
    described = {p["executionArn"].rsplit(":", 1)[-1] for p in faults.sent("sfn", "DescribeExecution")}
    assert described == {dead, never_started}  # never the one listed as running


def test_work_past_the_time_budget_is_deferred_to_the_next_sweep(
    deps: Dependencies, state_machine: str
) -> None:
    lost = [hold(deps, f"lost-{i}", start=False) for i in range(3)]
    budget = iter([1.0, 0.0, 0.0])  # time for one repair, then the invocation is nearly out of time

    first = reconciler(deps).sweep(stale_after_seconds=1800, time_left=lambda: next(budget))
    second = reconciler(deps).sweep(stale_after_seconds=1800)

    assert (first.locks_checked, first.deferred, len(first.resumed)) == (1, 2, 1)
    assert sorted(first.resumed + second.resumed) == sorted(lost)
    assert second.deferred == 0


def test_a_run_whose_execution_was_aborted_while_training_has_its_job_stopped(
    deps: Dependencies, state_machine: str, faults: Faults
) -> None:
    aborted = hold(deps, "aborted")
    deps.runs.update(aborted, status=RunStatus.TRAINING)
    running_job(deps, aborted)
    settled = hold(deps, "settled")
    running_job(deps, settled)
    set_training_job(settled, "Completed", account="123456789012", region="us-east-1")
    deps.tokens.claim(settled, "success", "a-message")  # its result was delivered before the end
    for run_id in (aborted, settled):  # ended without Finalize (an operator's StopExecution)
        deps.workflow.sfn.stop_execution(executionArn=deps.workflow.execution_arn(run_id))
    faults.calls.clear()

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    assert sorted(report.released) == sorted([aborted, settled])
    assert report.stopped == {aborted: "StopTrainingJob accepted"}
    assert deps.training.describe(aborted)["TrainingJobStatus"] == "Stopped"
    assert faults.count("sagemaker", "StopTrainingJob") == 1
    run = deps.runs.get(aborted)
    assert run is not None and run.status is RunStatus.FAILED and "ABORTED" in (run.cause or "")
