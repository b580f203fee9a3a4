"""The reconciler's sweep at scale: quiet trainings cost a tenth of a SendMessageBatch each, oldest news
first; running holders cost one ListExecutions pass, not calls per lock; dead holders are still repaired,
in their own share of the time; work past the time budget is left for the next sweep; one failed call
fails one run or one lock, not the sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from seam.dependencies import Dependencies
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.domain.reconciliation import REPAIR_SHARE, Reconciler
from seam.models.run import Run, RunRequest, RunStatus, TriggerKind, utc_now
from seam.models.training_events import parse_training_body
from seam_local.moto_hooks import set_training_job

from tests.unit.conftest import Faults, running_job

pytestmark = pytest.mark.tables("RunsTable", "LocksTable", "TaskTokensTable")


def hold(deps: Dependencies, model: str, start: bool = True) -> str:
    """`model`'s lock held by a new run, recorded, and (when `start`) its execution started."""
    request = RunRequest(stage="test", model=model, trigger=TriggerKind.MANUAL, intent=f"manual|{model}")
    deps.locks.acquire(request)
    deps.runs.create(Run(run_id=request.run_id, model=model, trigger=request.trigger))
    if start:
        assert deps.workflow.start(request.run_id, {"run_id": request.run_id, "model": model})
    return request.run_id


def reconciler(deps: Dependencies) -> Reconciler:
    jobs = OrphanedJobs(deps.tokens, deps.training)
    return Reconciler(deps.runs, deps.locks, deps.workflow, deps.callback_queue, jobs)


@pytest.fixture
def callback_queue(stack: Any) -> str:
    stack.create_queues()
    return stack.queue_url("CallbackQueue")


def quiet(deps: Dependencies, count: int, since_minutes: int = 60) -> list[str]:
    """`count` runs in TRAINING with no news for `since_minutes` and more (oldest first)."""
    run_ids = []
    for n in range(count):
        request = RunRequest(
            stage="test", model=f"quiet-{n}", trigger=TriggerKind.SCHEDULE, intent=f"slot|{n}"
        )
        news = utc_now() - timedelta(minutes=since_minutes + count - n)
        run = Run(
            run_id=request.run_id, model=request.model, trigger=request.trigger, status=RunStatus.TRAINING
        )
        deps.runs.create(run.model_copy(update={"updated_at": news, "training_job_name": request.run_id}))
        run_ids.append(request.run_id)
    return run_ids


def checks_queued(deps: Dependencies) -> list[str]:
    """The job names of the checks waiting on the callback queue, in the order they were sent."""
    sqs, names = deps.callback_queue.sqs, []
    while batch := sqs.receive_message(QueueUrl=deps.callback_queue.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        names += [parse_training_body(m["Body"]).detail.TrainingJobName for m in batch]
    return names


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
    # The sweep's budget (2 s, half of it kept for locks), time for one repair, then nearly out of time.
    budget = iter([2.0, 1.0, 0.0, 0.0])

    first = reconciler(deps).sweep(stale_after_seconds=1800, time_left=lambda: next(budget))
    second = reconciler(deps).sweep(stale_after_seconds=1800)

    assert (first.locks_checked, first.deferred, len(first.resumed)) == (1, 2, 1)
    assert first.failed == {}
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
    assert {r: s.reason for r, s in report.stopped.items()} == {aborted: "StopTrainingJob accepted"}
    assert deps.training.describe(aborted)["TrainingJobStatus"] == "Stopped"
    assert faults.count("sagemaker", "StopTrainingJob") == 1
    run = deps.runs.get(aborted)
    assert run is not None and run.status is RunStatus.FAILED and "ABORTED" in (run.cause or "")


def test_quiet_trainings_are_sent_for_a_check_ten_per_call_oldest_news_first(
    deps: Dependencies, state_machine: str, callback_queue: str, faults: Faults
) -> None:
    runs = quiet(deps, 25)
    deps.runs.update(runs[3], heartbeat_at=utc_now())  # news of it (a heartbeat): not quiet any more
    faults.calls.clear()

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    expected = [r for r in runs if r != runs[3]]
    assert report.checks_sent == expected
    assert checks_queued(deps) == expected
    assert faults.count("sqs", "SendMessageBatch") == 3
    assert faults.count("sagemaker", "DescribeTrainingJob") == 0  # the callback describes, not the sweep
    assert (report.deferred, report.failed) == (0, {})


def test_checks_get_only_their_share_of_the_time_and_dead_locks_are_still_repaired(
    deps: Dependencies, state_machine: str, callback_queue: str
) -> None:
    runs = quiet(deps, 60)
    lost = hold(deps, "lost", start=False)
    clock = {"left": 10.0}

    def time_left() -> float:
        clock["left"] -= 1.0  # every question costs a second of the sweep's time
        return clock["left"]

    report = reconciler(deps).sweep(stale_after_seconds=1800, time_left=time_left)

    sent = len(report.checks_sent)
    assert 0 < sent < len(runs) and report.checks_sent == runs[:sent]  # the oldest news went first
    assert clock["left"] < 10.0 * REPAIR_SHARE  # the checks stopped at their share
    assert report.resumed == [lost]  # the lock repair ran in the time kept for it
    assert report.deferred == len(runs) - sent


def test_a_failed_send_fails_its_runs_only_and_the_next_sweep_sends_them(
    deps: Dependencies, state_machine: str, callback_queue: str, faults: Faults
) -> None:
    runs = quiet(deps, 15)
    faults.fail("sqs", "SendMessageBatch", "ThrottlingException", times=1)  # left after the SDK's retries

    first = reconciler(deps).sweep(stale_after_seconds=1800)
    second = reconciler(deps).sweep(stale_after_seconds=1800)

    assert first.checks_sent == runs[10:]
    assert sorted(first.failed) == sorted(f"run {r}" for r in runs[:10])
    assert all(
        "TransientError" in reason and "ThrottlingException" in reason for reason in first.failed.values()
    )
    assert second.checks_sent == runs and second.failed == {}  # still quiet: sent again


def test_a_failed_lock_repair_fails_that_lock_only(
    deps: Dependencies, state_machine: str, callback_queue: str, faults: Faults
) -> None:
    lost = [hold(deps, f"lost-{i}", start=False) for i in range(3)]
    faults.fail("sfn", "DescribeExecution", "ThrottlingException", times=1)

    first = reconciler(deps).sweep(stale_after_seconds=1800)
    second = reconciler(deps).sweep(stale_after_seconds=1800)

    assert first.locks_checked == 3 and len(first.resumed) == 2
    [(item, reason)] = first.failed.items()
    assert item.startswith("lock lost-") and "ThrottlingException" in reason
    assert sorted(first.resumed + second.resumed) == sorted(lost)
    assert second.failed == {}


def test_a_failed_read_is_recorded_and_the_rest_of_the_sweep_goes_on(
    deps: Dependencies, state_machine: str, callback_queue: str, faults: Faults
) -> None:
    quiet(deps, 2)
    lost = hold(deps, "lost", start=False)
    faults.fail("dynamodb", "Query", "ProvisionedThroughputExceededException", times=1)
    faults.fail("sfn", "ListExecutions", "ThrottlingException", times=1)

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    assert sorted(report.failed) == ["running executions", "runs in TRAINING"]
    assert report.checks_sent == []
    assert report.resumed == [lost]  # holders checked one by one without the running list


def test_the_sweep_reports_the_oldest_held_lock_for_the_lock_age_alarm(
    deps: Dependencies, state_machine: str
) -> None:
    assert reconciler(deps).sweep(stale_after_seconds=1800).oldest_lock_age_seconds == 0.0  # none held
    hold(deps, "recent")
    old = hold(deps, "stuck")
    since = (utc_now() - timedelta(hours=5)).isoformat()
    deps.locks.ddb.update_item(
        TableName=deps.locks.table,
        Key={"model": {"S": "stuck"}},
        UpdateExpression="SET acquired_at = :since",
        ExpressionAttributeValues={":since": {"S": since}},
    )

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    assert (report.oldest_lock_model, report.oldest_lock_run_id) == ("stuck", old)
    assert 5 * 3600 <= report.oldest_lock_age_seconds < 6 * 3600


def test_a_quiet_champion_scoring_is_checked_by_its_processing_jobs_name_oldest_news_first(
    deps: Dependencies, state_machine: str, callback_queue: str
) -> None:
    from seam.domain.champion_scoring import scoring_job_name

    training = quiet(deps, 2, since_minutes=60)
    request = RunRequest(stage="test", model="scored", trigger=TriggerKind.DATA, intent="data|x")
    scoring = Run(run_id=request.run_id, model="scored", trigger=request.trigger, status=RunStatus.SCORING)
    name = scoring_job_name(request.run_id)
    news = utc_now() - timedelta(minutes=120)  # older news than both trainings
    deps.runs.create(scoring.model_copy(update={"updated_at": news, "champion_scoring_job_name": name}))

    report = reconciler(deps).sweep(stale_after_seconds=1800)

    assert report.checks_sent == [request.run_id, *training]
    assert checks_queued(deps) == [name, *training]  # the check names the job the run waits for
