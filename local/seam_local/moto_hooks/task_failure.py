"""SendTaskFailure keeps its cause. moto 5.2.5's handler of the action passes the task token and the
error to its backend and drops the request's `cause`; Step Functions records it (a run's recorded
cause comes from it). The replacement reads the request as AWS sends it (the JSON body) and passes
both on to the backend that executes state machines (`{"stepfunctions": {"execute_state_machine":
True}}`), which takes both.

moto member: `moto.stepfunctions.responses.StepFunctionResponse.send_task_failure` (replaced): an API
action's handler, which moto offers no way to change. `check` fails once moto passes the cause itself.
"""

from __future__ import annotations

import inspect
import json

from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from seam_local.moto_hooks.patching import Hook, Patch


def _send_task_failure(self: StepFunctionResponse) -> EmptyResult:
    request = json.loads(self.body or "{}")
    self.stepfunction_backend.send_task_failure(
        request.get("taskToken"), error=request.get("error"), cause=request.get("cause")
    )
    return EmptyResult()


def _moto_still_drops_the_cause() -> None:
    if '"cause"' in inspect.getsource(SEND_TASK_FAILURE.original):
        raise RuntimeError(
            "moto now passes SendTaskFailure's cause itself: drop seam_local.moto_hooks.task_failure"
        )
    params = list(inspect.signature(StepFunctionsParserBackend.send_task_failure).parameters)
    if params != ["self", "task_token", "error", "cause"]:
        raise RuntimeError(f"moto's Step Functions backend send_task_failure changed: {params}")


SEND_TASK_FAILURE = Patch(StepFunctionResponse, "send_task_failure", _send_task_failure, params=("self",))
HOOK: Hook[None] = Hook([SEND_TASK_FAILURE], check=_moto_still_drops_the_cause)
check = HOOK.check
