"""Logs that can be followed: every line of a run carries that run's id as its correlation id, and a line
about a request carries the id of the run it asked for, never another (issue 15 item 6).

The handlers share one Logger per process (seam.observability), as a warm Lambda sandbox does between
invocations; these tests run the trigger after other invocations in the same process and read its lines.
"""

from __future__ import annotations

import io
import json
from typing import Any

from tests.workflow.harness import Harness, model_config


def trigger_lines(logs: io.StringIO, since: int = 0) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in logs.getvalue().splitlines()[since:] if line.startswith("{")]
    return [line for line in lines if line.get("function_name", "").endswith("-trigger")]


def test_the_triggers_second_invocation_carries_no_run_id_of_the_first(
    harness: Harness, logs: io.StringIO
) -> None:
    harness.onboard(model_config())
    harness.drop("churn")  # invocation 1: starts a run
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)  # the workflow's own handlers have logged for the run, then wait
    started = [line for line in trigger_lines(logs) if line["message"] == "trigger handled"]
    assert [(line["correlation_id"], line["run_id"]) for line in started] == [(run_id, run_id)]
    workflow_lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    assert any(line.get("correlation_id") == run_id for line in workflow_lines if line not in started)
    mark = len(logs.getvalue().splitlines())

    event = harness.object_created_event("datasets/no-such-model/a.csv", "x")
    alarm = harness.alarm_event("nobody-listens")  # maps to no run: its line is logged outside any run
    assert harness.trigger(event, alarm) == {"batchItemFailures": []}  # invocation 2

    second = trigger_lines(logs, since=mark)
    unknown = [line for line in second if line["message"] == "event maps to no model; nothing started"]
    for_a_run = [line for line in unknown if "run_id" in line]  # the drop: a request for a run id
    runless = [line for line in unknown if "run_id" not in line]  # the alarm: routed to no request
    assert len(for_a_run) == len(runless) == 1
    # Tagged with its own request's run id (a run that never starts: no such model), not the first one's.
    assert for_a_run[0]["correlation_id"] == for_a_run[0]["run_id"] != run_id
    assert "correlation_id" not in runless[0]
    assert all(run_id not in json.dumps(line) for line in second)


def test_a_batch_tags_each_requests_lines_with_its_own_run(harness: Harness, logs: io.StringIO) -> None:
    harness.onboard(model_config("churn"))
    harness.onboard(model_config("fraud"))
    events = [
        harness.object_created_event("datasets/churn/a.csv", "x"),
        harness.object_created_event("datasets/fraud/a.csv", "x"),
    ]
    assert harness.trigger(*events) == {"batchItemFailures": []}

    handled = [line for line in trigger_lines(logs) if line["message"] == "trigger handled"]
    assert sorted(line["model"] for line in handled) == ["churn", "fraud"]
    assert all(line["correlation_id"] == line["run_id"] for line in handled)
    assert len({line["run_id"] for line in handled}) == 2


def test_a_retrain_of_a_config_stored_without_the_check_ends_failed_with_its_reason_logged(
    harness: Harness, logs: io.StringIO
) -> None:
    from seam.adapters.dynamodb.codec import to_item
    from seam.models.run import RunStatus, utc_now

    # Written straight to the models table (a script, the AWS CLI), gated on a metric training never logs.
    config = model_config().model_dump(mode="json")
    config["evaluation"]["metric"] = "validation:f1"
    record = {"model": "churn", "config": config, "updated_at": utc_now().isoformat()}
    harness.deps.models.ddb.put_item(TableName=harness.deps.models.table, Item=to_item(record))

    event = harness.object_created_event("datasets/churn/a.csv", "tenure,charges,churned\n1,2,0\n")
    assert harness.trigger(event) == {"batchItemFailures": []}  # not redelivered: it cannot start as it is

    assert harness.executions() == [] and harness.deps.locks.get("churn") is None
    [run] = harness.deps.runs.list_for_model("churn")
    assert run.status is RunStatus.FAILED and run.error == "ConfigRefusedError"
    assert (
        run.cause
        and "evaluation.metric 'validation:f1' is not one of training.metric_definitions" in run.cause
    )
    [line] = [line for line in trigger_lines(logs) if line["level"] == "WARNING"]
    assert line["message"] == "model config would fail the run; nothing started (run FAILED)"
    assert "evaluation.metric 'validation:f1'" in line["reason"] and line["run_id"] == run.run_id
