from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator

import pytest
import seam
from moto import mock_aws
from seam.dependencies import dependencies
from seam_local.images import ImageResolver
from seam_local.moto_hooks import (
    install_lambda_runtime,
    install_local_images,
    install_training_stop,
    install_transaction_backups,
)
from seam_local.stack import EmulatedStack
from seam_local.template import StackTemplate

from tests.workflow.harness import Harness
from tests.workflow.in_memory_serving import InMemoryServing


def stop_running_executions(stack: EmulatedStack, timeout: float = 5.0) -> None:
    """Executions still waiting (e.g. on a training job the test never finished) end with the test, so
    their threads cannot write into the next test's backend."""
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sfn.list_executions(stateMachineArn=stack.state_machine_arn, statusFilter="RUNNING")[
            "executions"
        ]
        if not running:
            return
        for execution in running:
            with contextlib.suppress(Exception):  # moto cannot stop an execution whose worker has not started
                sfn.stop_execution(executionArn=execution["executionArn"])
        time.sleep(0.05)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What Seam's Logger writes during the test (its handler keeps the stream it saw at import)."""
    from seam.observability import logger

    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    yield buffer
    logger.registered_handler.setStream(previous)


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_DEV": "0",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        parameters = {"AllowedClusters": "seam-local", "RolloutWaitSeconds": 0}
        stack = EmulatedStack(StackTemplate(stage="test", parameters=parameters))
        for key, value in stack.environment.items():
            monkeypatch.setenv(key, value)
        seam.reset()
        with (
            install_lambda_runtime(stack.runtime),
            install_transaction_backups(),
            install_training_stop(),
            install_local_images(ImageResolver()),  # `seam models put` finds the example image in ECR
        ):
            stack.deploy()
            deps = dependencies()
            serving = InMemoryServing()
            deps.serving = serving
            yield Harness(stack, deps, serving)
            stop_running_executions(stack)
        seam.reset()
