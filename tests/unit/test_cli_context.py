"""seam_cli.context: a deployed stack's outputs and parameters become the settings the CLI checks with."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from seam_cli.context import STACK_OUTPUTS, configure

OUTPUTS = {output: f"value-of-{output}" for output in STACK_OUTPUTS}
# template.yaml declares AllowedClusters a CommaDelimitedList, which DescribeStacks returns as "a,b";
# moto returns such a list's Python repr instead, so the stand-in stack declares it a String.
TEMPLATE = {
    "Parameters": {"AllowedClusters": {"Type": "String", "Default": "none"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {name: {"Value": value} for name, value in OUTPUTS.items()},
}


@pytest.fixture
def clean_environment(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SEAM_* variables and no .seam/local/env: the CLI must find the stack itself."""
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("SEAM_")]:
        del os.environ[key]
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_a_deployed_stack_gives_its_tables_and_allowed_clusters(clean_environment: None) -> None:
    with mock_aws():
        import boto3

        boto3.client("cloudformation").create_stack(
            StackName="seam-prod",
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "AllowedClusters", "ParameterValue": "prod-serving,prod-eu"}],
        )
        deps = configure("seam-prod")

    assert deps.settings.models_table == OUTPUTS["ModelsTableName"]
    assert deps.settings.trigger_queue_url == OUTPUTS["TriggerQueueUrl"]
    assert deps.settings.allowed_clusters == {"prod-serving", "prod-eu"}
