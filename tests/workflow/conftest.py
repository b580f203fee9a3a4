from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from seam.adapters.aws import reset_clients
from seam.adapters.serving.memory import InMemoryServing
from seam.dependencies import dependencies, reset_dependencies
from seam_local.moto_hooks import install_lambda_runtime
from seam_local.stack import EmulatedStack
from seam_local.template import StackTemplate

from tests.workflow.harness import Harness


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
        reset_clients()
        reset_dependencies()
        with install_lambda_runtime(stack.runtime):
            stack.deploy()
            deps = dependencies()
            serving = InMemoryServing()
            deps.serving = serving
            yield Harness(stack, deps, serving)
        reset_dependencies()
        reset_clients()
