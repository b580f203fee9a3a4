"""Deploys template.yaml's resources into moto and runs the real handlers in-process.

Used by the workflow tests (moto in decorator mode) and by the local runtime. Tables, buckets, buses,
queues, functions and the state machine are created from the template's own properties.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from seam_local.moto_hooks import LambdaRuntime
from seam_local.template import FunctionSpec, StackTemplate

_TABLE_KEYS = ("KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes")
HANDLER_MODULE_PREFIX = "seam_function_"  # + the function's folder: its handler module in sys.modules


def handler_module_name(function_dir: str) -> str:
    """The name a function's handler module gets in sys.modules (`trigger` -> `seam_function_trigger`)."""
    return f"{HANDLER_MODULE_PREFIX}{function_dir}"


def load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    """Import a function's handler from its CodeUri, as the Lambda runtime would (module per function)."""
    module_path, attribute = spec.handler.rsplit(".", 1)
    path = spec.code_dir / f"{module_path.replace('.', '/')}.py"
    module_name = handler_module_name(spec.code_dir.name)
    if module_name not in sys.modules:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        assert loader_spec and loader_spec.loader, f"cannot load {path}"
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        loader_spec.loader.exec_module(module)
    return getattr(sys.modules[module_name], attribute)


@dataclass
class EmulatedStack:
    """The stack's physical resources inside the active moto backend."""

    template: StackTemplate
    runtime: LambdaRuntime = field(default_factory=LambdaRuntime)

    def __post_init__(self) -> None:
        self.functions = {spec.logical_id: spec for spec in self.template.functions()}

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.template.region)

    @property
    def environment(self) -> dict[str, str]:
        return self.template.globals_environment()

    def deploy(self) -> EmulatedStack:
        os.environ.update(self.environment)
        self.create_tables()
        self.create_buckets()
        self.create_event_buses()
        self.create_queues()
        self.create_functions()
        self.create_state_machine()
        return self

    def name(self, logical_id: str) -> str:
        return self.template.physical_name(logical_id)

    def queue_url(self, logical_id: str) -> str:
        return self.client("sqs").get_queue_url(QueueName=self.name(logical_id))["QueueUrl"]

    @property
    def state_machine_arn(self) -> str:
        return self.template.arn("RetrainWorkflow")

    # Each resource kind on its own, for tests that need only some of the stack.

    def create_tables(self, *logical_ids: str) -> None:
        """The template's DynamoDB tables (only `logical_ids` when given), key schemas, GSIs and TTL."""
        ddb = self.client("dynamodb")
        tables = self.template.of_type("AWS::DynamoDB::Table")
        for logical in logical_ids or tables:
            props = self.template.resolve(tables[logical]["Properties"])
            request = {k: props[k] for k in _TABLE_KEYS if k in props}
            ddb.create_table(TableName=self.name(logical), **request)
            ttl = props.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                ddb.update_time_to_live(TableName=self.name(logical), TimeToLiveSpecification=ttl)

    def create_buckets(self) -> None:
        s3 = self.client("s3")
        for logical, resource in self.template.of_type("AWS::S3::Bucket").items():
            s3.create_bucket(Bucket=self.name(logical))
            versioning = resource.get("Properties", {}).get("VersioningConfiguration")
            if versioning:
                s3.put_bucket_versioning(Bucket=self.name(logical), VersioningConfiguration=versioning)

    def create_event_buses(self) -> None:
        events = self.client("events")
        for logical in self.template.of_type("AWS::Events::EventBus"):
            events.create_event_bus(Name=self.name(logical))

    def create_queues(self) -> None:
        sqs = self.client("sqs")
        queues = self.template.of_type("AWS::SQS::Queue")
        # Dead-letter queues first: a queue's RedrivePolicy points at one.
        for logical in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {})):
            props = self.template.resolve(queues[logical].get("Properties", {}))
            attributes = {
                k: json.dumps(v) if isinstance(v, dict) else str(v)
                for k, v in props.items()
                if k in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
            }
            sqs.create_queue(QueueName=self.name(logical), Attributes=attributes)

    def create_functions(self) -> None:
        # Per stage: two stacks (dev and prod) can share one emulator, as they share an account.
        role = self.client("iam").create_role(
            RoleName=f"seam-{self.template.stage}-local-lambda", AssumeRolePolicyDocument="{}"
        )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "# runs in-process: see seam_local.moto_hooks.lambda_runtime\n")
        lam = self.client("lambda")
        for spec in self.functions.values():
            lam.create_function(
                FunctionName=spec.name,
                Runtime="python3.13",
                Role=role["Role"]["Arn"],
                Handler=spec.handler,
                Code={"ZipFile": archive.getvalue()},
                Timeout=spec.timeout_s,
                MemorySize=spec.memory_mb,
                Environment={"Variables": spec.environment},
            )
            self.runtime.register(spec.name, load_handler(spec), spec.memory_mb, spec.timeout_s)

    def create_state_machine(self) -> None:
        name, definition = self.template.state_machine()
        role = self.client("iam").create_role(
            RoleName=f"seam-{self.template.stage}-local-states", AssumeRolePolicyDocument="{}"
        )
        self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=role["Role"]["Arn"], type="STANDARD"
        )

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Call a function's handler directly (as its event source would), with a Lambda context."""
        spec = self.functions[logical_id]
        function = self.client("lambda").get_function(FunctionName=spec.name)["Configuration"]

        class _Fn:  # the two attributes LambdaRuntime reads from moto's LambdaFunction
            function_name = spec.name
            function_arn = function["FunctionArn"]

        payload, errored = self.runtime.invoke(_Fn, event)  # type: ignore[arg-type]
        result = json.loads(payload)
        if errored:
            raise RuntimeError(f"{logical_id} failed: {result['errorType']}: {result['errorMessage']}")
        return result
