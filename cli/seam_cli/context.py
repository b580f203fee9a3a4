"""Where the CLI finds Seam: the same SEAM_* settings the Lambdas read, from the environment, from the
local runtime's `.seam/local/env`, or from a deployed stack's CloudFormation outputs."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from seam.dependencies import Dependencies, reset_dependencies
from seam.errors import ConfigError

LOCAL_ENV_FILE = Path(".seam/local/env")

# CloudFormation output -> the settings variable it fills (template.yaml's Outputs).
STACK_OUTPUTS = {
    "ModelsTableName": "SEAM_MODELS_TABLE",
    "RunsTableName": "SEAM_RUNS_TABLE",
    "ModelVersionsTableName": "SEAM_VERSIONS_TABLE",
    "DataBucketName": "SEAM_DATA_BUCKET",
    "StateMachineArn": "SEAM_STATE_MACHINE_ARN",
    "EventBusName": "SEAM_EVENT_BUS_NAME",
    "TriggerQueueUrl": "SEAM_TRIGGER_QUEUE_URL",
}

# CloudFormation parameter -> the settings variable it fills (what `seam models put` checks against).
STACK_PARAMETERS = {"AllowedClusters": "SEAM_ALLOWED_CLUSTERS"}


def load_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


def configure(stack: str | None) -> Dependencies:
    """Fill os.environ with Seam's settings and return the adapters the Lambdas use."""
    if stack is None and LOCAL_ENV_FILE.exists() and "SEAM_MODELS_TABLE" not in os.environ:
        os.environ.update(load_env_file(LOCAL_ENV_FILE))
    if stack is not None or "SEAM_MODELS_TABLE" not in os.environ:
        name = stack or os.environ.get("SEAM_STACK", "seam-dev")
        described = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        for output, variable in STACK_OUTPUTS.items():
            if output in outputs:
                os.environ[variable] = outputs[output]
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
        for parameter, variable in STACK_PARAMETERS.items():
            if parameter in parameters:
                os.environ[variable] = parameters[parameter]
    # Tables the CLI never touches still need a value for the settings model.
    for variable in ("SEAM_TOKENS_TABLE", "SEAM_LOCKS_TABLE"):
        os.environ.setdefault(variable, "unused-by-cli")
    reset_dependencies()
    from seam.dependencies import dependencies

    return dependencies()


def trigger_queue_url() -> str:
    url = os.environ.get("SEAM_TRIGGER_QUEUE_URL")
    if not url:
        raise ConfigError("SEAM_TRIGGER_QUEUE_URL is not set (and no stack output TriggerQueueUrl was found)")
    return url
