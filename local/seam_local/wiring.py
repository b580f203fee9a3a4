"""What connects the stack's resources, read from the template after the SAM transform.

aws-sam-translator turns the SAM template into the CloudFormation CloudFormation would deploy: the
functions' `Events` become `AWS::Lambda::EventSourceMapping` and `AWS::Scheduler::Schedule` resources
with SAM's defaults filled in. From that template this module creates what moto can hold (the data
bucket's EventBridge notifications, the rules and their targets, the schedules) and describes what
the emulator must run itself (event source mappings and schedule ticks, see `pollers`).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import boto3
from samtranslator.translator.transform import transform

from seam_local.pollers import EventSourceMapping, Schedule, rate_seconds
from seam_local.template import StackTemplate

_LOCAL_URIS = ("CodeUri", "ContentUri", "DefinitionUri")
# Target services moto's EventBridge delivers to. moto refuses any other as not implemented (the alert
# topic, SNS, which the emulator does not run): such a target is left out, its rule still created, and
# seam_local.alerts gives the rule a stand-in queue whose messages a local subscriber prints.
_DELIVERED_LOCALLY = frozenset({"sqs", "logs", "events"})


class _NoManagedPolicies:
    """The translator looks managed policy names up in IAM; the template names none by name."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(template: StackTemplate) -> StackTemplate:
    """`template` after the SAM transform, resolving intrinsics with the same names and parameters."""
    raw = copy.deepcopy(template.raw)
    for resource in raw["Resources"].values():
        properties = resource.get("Properties", {})
        for key in _LOCAL_URIS:  # `sam build` would upload these; the transform only wants S3 URIs
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://seam-local-artifacts/{properties[key]}"
    os.environ.setdefault("AWS_DEFAULT_REGION", template.region)
    parameters = {k: v for k, v in template.parameters.items() if v is not None}
    output = transform(raw, {**parameters, "AWS::Region": template.region}, _NoManagedPolicies())
    cfn = copy.copy(template)
    cfn.raw, cfn.resources = output, output["Resources"]
    return cfn


def deploy(cfn: StackTemplate) -> None:
    """Bucket notifications, EventBridge rules with their targets, and the schedules, into the emulator."""
    s3 = boto3.client("s3", region_name=cfn.region)
    for logical, resource in cfn.of_type("AWS::S3::Bucket").items():
        config = resource.get("Properties", {}).get("NotificationConfiguration", {})
        if config.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=cfn.physical_name(logical),
                NotificationConfiguration={"EventBridgeConfiguration": {}},
            )
    events = boto3.client("events", region_name=cfn.region)
    for logical, resource in cfn.of_type("AWS::Events::Rule").items():
        props = cfn.resolve(resource["Properties"])
        bus = props.get("EventBusName", "default")
        rule: dict[str, Any] = {"Name": cfn.physical_name(logical), "EventBusName": bus}
        if "EventPattern" in props:
            rule["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            rule["ScheduleExpression"] = props["ScheduleExpression"]
        events.put_rule(**rule, Description=props.get("Description", ""), State=props.get("State", "ENABLED"))
        targets = [
            {k: v for k, v in t.items() if k in ("Id", "Arn", "Input", "DeadLetterConfig", "RetryPolicy")}
            for t in props.get("Targets", [])
            if t["Arn"].split(":")[2] in _DELIVERED_LOCALLY
        ]
        if targets:
            events.put_targets(Rule=rule["Name"], EventBusName=bus, Targets=targets)
    scheduler = boto3.client("scheduler", region_name=cfn.region)
    for logical, resource in cfn.of_type("AWS::Scheduler::Schedule").items():
        props = cfn.resolve(resource["Properties"])
        target = {k: v for k, v in props["Target"].items() if v is not None}
        scheduler.create_schedule(
            Name=props.get("Name", cfn.physical_name(logical)),
            ScheduleExpression=props["ScheduleExpression"],
            FlexibleTimeWindow=props["FlexibleTimeWindow"],
            Target=target,
            Description=props.get("Description", ""),
        )


def event_source_mappings(cfn: StackTemplate) -> list[EventSourceMapping]:
    sqs = boto3.client("sqs", region_name=cfn.region)
    mappings = []
    for resource in cfn.of_type("AWS::Lambda::EventSourceMapping").values():
        props = cfn.resolve(resource["Properties"])
        queue_arn = props["EventSourceArn"]
        if ":sqs:" not in queue_arn:
            continue
        mappings.append(
            EventSourceMapping(
                function_name=props["FunctionName"],
                queue_url=sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"],
                queue_arn=queue_arn,
                batch_size=int(props.get("BatchSize", 10)),
                batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_batch_item_failures="ReportBatchItemFailures"
                in props.get("FunctionResponseTypes", []),
            )
        )
    return mappings


def schedules(cfn: StackTemplate) -> list[Schedule]:
    found = []
    for logical, resource in cfn.of_type("AWS::Scheduler::Schedule").items():
        props = cfn.resolve(resource["Properties"])
        name = props.get("Name", cfn.physical_name(logical))
        period = rate_seconds(props["ScheduleExpression"])
        if period is None:
            raise ValueError(f"schedule {name}: only rate() expressions run locally")
        found.append(
            Schedule(
                name=name,
                arn=f"arn:aws:scheduler:{cfn.region}:{cfn.account}:schedule/default/{name}",
                period_seconds=period,
                target_arn=props["Target"]["Arn"],
                input=props["Target"].get("Input"),
            )
        )
    return found
