"""Step Functions: start runs (idempotent by name) and settle task tokens."""

from __future__ import annotations

import json
from typing import Any

from seam.adapters.aws import aws_call, cause_code, client
from seam.errors import SeamError, TrainingError

# A token that timed out or was already used cannot be settled again: for a duplicate that is "done".
SETTLED_TOKEN_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class Workflow:
    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    @property
    def sfn(self) -> Any:
        return client("stepfunctions")

    def start(self, run_id: str, document: dict[str, Any]) -> bool:
        """Start execution `run_id`; False when it already exists (names are unique for 90 days)."""
        try:
            with aws_call(f"StartExecution {run_id}"):
                self.sfn.start_execution(
                    stateMachineArn=self.state_machine_arn, name=run_id, input=json.dumps(document)
                )
            return True
        except SeamError as exc:
            if cause_code(exc) == "ExecutionAlreadyExists":
                return False
            raise

    def execution_status(self, run_id: str) -> str | None:
        arn = self.execution_arn(run_id)
        try:
            with aws_call(f"DescribeExecution {run_id}"):
                return self.sfn.describe_execution(executionArn=arn)["status"]
        except SeamError as exc:
            if cause_code(exc) == "ExecutionDoesNotExist":
                return None
            raise

    def running_executions(self) -> set[str]:
        """Names (run ids) of the state machine's RUNNING executions: one ListExecutions call per 1,000.
        The list is eventually consistent, so callers use it only to skip work: a name missing from it
        is checked with `execution_status`."""
        names: set[str] = set()
        with aws_call("ListExecutions RUNNING"):
            pages = self.sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self.state_machine_arn,
                statusFilter="RUNNING",
                PaginationConfig={"PageSize": 1000},
            )
            for page in pages:
                names.update(execution["name"] for execution in page["executions"])
        return names

    def history(self, run_id: str) -> list[dict[str, Any]]:
        """The execution's events, oldest first (GetExecutionHistory, 1,000 a page, without each event's
        input and output documents): what the run's cost is measured from."""
        events: list[dict[str, Any]] = []
        with aws_call(f"GetExecutionHistory {run_id}"):
            pages = self.sfn.get_paginator("get_execution_history").paginate(
                executionArn=self.execution_arn(run_id),
                includeExecutionData=False,
                PaginationConfig={"PageSize": 1000},
            )
            for page in pages:
                events.extend(page["events"])
        return events

    def execution_arn(self, run_id: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"

    def _settle(self, what: str, call: Any, **kwargs: Any) -> bool:
        """True when settled now; False when the token was already settled or timed out."""
        try:
            with aws_call(what, TrainingError):
                call(**kwargs)
            return True
        except SeamError as exc:
            if cause_code(exc) in SETTLED_TOKEN_CODES:
                return False
            raise

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._settle(
            "SendTaskSuccess", self.sfn.send_task_success, taskToken=token, output=json.dumps(output)
        )

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._settle(
            "SendTaskFailure",
            self.sfn.send_task_failure,
            taskToken=token,
            error=error[:256],
            cause=cause[:32768],
        )

    def heartbeat(self, token: str) -> bool:
        return self._settle("SendTaskHeartbeat", self.sfn.send_task_heartbeat, taskToken=token)
