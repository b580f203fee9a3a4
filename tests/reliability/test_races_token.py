"""A stale LaunchTraining attempt never overwrites the live task token (issue 16, item 7).

Step Functions retries LaunchTraining (here: its first CreateTrainingJob is throttled) while the first
attempt's token write is late: the first attempt's PutItem lands after the retry stored the live
token. The settlement must go to the live token, or the live task waits until its heartbeat times out.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import Figure
from tests.reliability.faults import FaultInjector, FaultKind
from tests.reliability.test_scenarios import drop_event, onboard, run_ids_for, wait_all
from tests.workflow.harness import GOOD_CSV, Harness

pytestmark = [
    pytest.mark.usefixtures("fast_retries", "unique_training_jobs"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]


def test_a_late_token_write_of_an_earlier_attempt_never_replaces_the_live_token(
    harness: Harness, faults: FaultInjector, figure: Figure
) -> None:
    onboard(harness, "token")
    faults.once("sagemaker", "CreateTrainingJob", FaultKind.THROTTLING, function="LaunchTrainingFunction")
    event = drop_event(harness, "token", "day1", GOOD_CSV)
    [run_id] = run_ids_for(harness, event)
    harness.trigger(event)
    harness.wait_for_training(run_id)
    puts = [c for c in faults.calls if c.site.operation == "PutItem" and "task_token" in c.params["Item"]]
    assert len(puts) == 2  # attempt 0 (then throttled) and attempt 1, the retry that created the job
    live = puts[-1].params["Item"]["task_token"]["S"]
    # AWS gives each attempt its own token; moto reuses one, so attempt 0's is named here.
    dead = "token-of-attempt-0-whose-task-was-retried"
    harness.deps.tokens.put(run_id, dead, run_id, attempt=0)  # attempt 0's write, landing late
    stored = harness.deps.tokens.get(run_id)
    harness.finish_training(run_id)
    status = wait_all(harness, [run_id])[run_id]
    sent = [c.params["taskToken"] for c in faults.calls if c.site.operation == "SendTaskSuccess"]

    assert stored is not None and stored.task_token == live
    assert sent == [live] and status == "SUCCEEDED"
    figure.scenario = "stale launch attempt's token"
    figure.injected = (
        "CreateTrainingJob throttled once (LaunchTraining retried); attempt 0's token write lands last"
    )
    figure.expected = "the live token (attempt 1) stays; it is settled; run DEPLOYED"
    kept = "live" if stored and stored.task_token == live else "dead"
    figure.observed = (
        f"{kept} token stored; SendTaskSuccess to {'live' if sent == [live] else sent}; {status}"
    )
