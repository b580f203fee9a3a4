"""template.yaml as data: the single source of truth for what the emulator creates.

Reads the SAM template (CloudFormation short-form tags included) and resolves the intrinsics the
emulator needs (Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::If with the template's own Conditions) against
physical names the emulator chooses. Nothing here lists Seam's resources: they all come from the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

_SHORT_TAGS = {"Ref": "Ref", "Condition": "Condition"}
_FN_TAGS = [
    "Sub",
    "GetAtt",
    "Join",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "FindInMap",
    "Base64",
    "GetAZs",
    "ImportValue",
    "Cidr",
    "Length",
    "ToJsonString",
]


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into {"Ref": "X"} and `!Sub s` into {"Fn::Sub": s}."""


def _construct(tag: str) -> Any:
    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {tag: value}

    return build


for _short, _long in _SHORT_TAGS.items():
    _CfnLoader.add_constructor(f"!{_short}", _construct(_long))
for _fn in _FN_TAGS:
    _CfnLoader.add_constructor(f"!{_fn}", _construct(f"Fn::{_fn}"))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]


@dataclass
class StackTemplate:
    """The template plus the emulator's choice of physical names, with intrinsics resolved."""

    stage: str = "local"
    account: str = "123456789012"
    region: str = "us-east-1"
    parameters: dict[str, Any] = field(default_factory=dict)
    path: Path = TEMPLATE_PATH

    def __post_init__(self) -> None:
        self.raw = load_template(self.path)
        self.resources: dict[str, dict[str, Any]] = self.raw["Resources"]
        defaults = {k: v.get("Default") for k, v in self.raw.get("Parameters", {}).items()}
        self.parameters = {**defaults, "Stage": self.stage, **self.parameters}

    # -- names -------------------------------------------------------------------------------
    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def physical_name(self, logical_id: str) -> str:
        """The name `Ref` returns: the template's explicit name when it has one, else a stable one."""
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        for key in ("FunctionName", "TableName", "BucketName", "QueueName", "Name", "LayerName"):
            if key in props:
                return str(self.resolve(props[key]))
        if resource["Type"] == "AWS::S3::Bucket":
            return f"seam-{self.stage}-{logical_id.lower()}-{self.account}"
        return f"seam-{self.stage}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        partition, region, account = "aws", self.region, self.account
        return {
            "AWS::Serverless::Function": f"arn:{partition}:lambda:{region}:{account}:function:{name}",
            "AWS::Lambda::Function": f"arn:{partition}:lambda:{region}:{account}:function:{name}",
            "AWS::Serverless::StateMachine": f"arn:{partition}:states:{region}:{account}:stateMachine:{name}",
            "AWS::DynamoDB::Table": f"arn:{partition}:dynamodb:{region}:{account}:table/{name}",
            "AWS::SQS::Queue": f"arn:{partition}:sqs:{region}:{account}:{name}",
            "AWS::S3::Bucket": f"arn:{partition}:s3:::{name}",
            "AWS::IAM::Role": f"arn:{partition}:iam::{account}:role/{name}",
            "AWS::Events::EventBus": f"arn:{partition}:events:{region}:{account}:event-bus/{name}",
            "AWS::Events::Rule": f"arn:{partition}:events:{region}:{account}:rule/{name}",
            "AWS::SNS::Topic": f"arn:{partition}:sns:{region}:{account}:{name}",
        }.get(kind, f"arn:{partition}:local:{region}:{account}:{logical_id}/{name}")

    # -- intrinsics ----------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return re.sub(
                r"\$\{([^}!]+)\}", lambda m: str(variables.get(m[1], self._sub_var(m[1]))), template
            )
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.arn(logical) if attribute == "Arn" else self.physical_name(logical)
        if key == "Fn::Join":
            items = self.resolve(arg[1])
            return str(arg[0]).join(str(i) for i in (items if isinstance(items, list) else [items]))
        if key == "Fn::If":
            return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def condition(self, name: str) -> bool:
        return self._truth(self.raw.get("Conditions", {})[name])

    def _truth(self, value: Any) -> bool:
        return bool(self.resolve(value))

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::StackName": f"seam-{self.stage}",
            "AWS::NoValue": None,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            kind = self.raw["Parameters"][name].get("Type", "String")
            if kind == "CommaDelimitedList" and isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return value
        if self.resources[name]["Type"] in ("AWS::SQS::Queue",):
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.physical_name(name)}"
        if self.resources[name]["Type"] == "AWS::SNS::Topic":  # Ref of a topic is its ARN
            return self.arn(name)
        return self.physical_name(name)

    def _sub_var(self, name: str) -> Any:
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self.resolve({"Fn::GetAtt": [logical, attribute]})
        return self._ref(name)

    # -- what the emulator builds ---------------------------------------------------------------
    def globals_environment(self) -> dict[str, str]:
        variables = (
            self.raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        return {k: str(self.resolve(v)) for k, v in variables.items()}

    def functions(self) -> list[FunctionSpec]:
        defaults = self.raw.get("Globals", {}).get("Function", {})
        specs = []
        for logical, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env = {
                **self.globals_environment(),
                **{
                    k: str(self.resolve(v))
                    for k, v in props.get("Environment", {}).get("Variables", {}).items()
                },
            }
            specs.append(
                FunctionSpec(
                    logical_id=logical,
                    name=self.physical_name(logical),
                    code_dir=self.path.parent / props["CodeUri"],
                    handler=props.get("Handler", defaults.get("Handler", "app.lambda_handler")),
                    memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
                    timeout_s=int(props.get("Timeout", defaults.get("Timeout", 3))),
                    environment=env,
                )
            )
        return specs

    def state_machine(self, logical_id: str = "RetrainWorkflow") -> tuple[str, str]:
        """(name, definition JSON with DefinitionSubstitutions applied)."""
        props = self.resources[logical_id]["Properties"]
        definition = (self.path.parent / props["DefinitionUri"]).read_text()
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(self.resolve(value)))
        return self.physical_name(logical_id), definition
