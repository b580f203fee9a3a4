"""The alert topic, locally: what the stack's rules send to SNS (moto's EventBridge delivers to SQS,
logs and buses only, and the emulator runs no SNS) is printed by a local subscriber instead.

For every rule target on an SNS topic, `subscribe` creates a stand-in queue and targets the rule at it
(the event as it matched, untransformed); `AlertSubscriber` polls those queues and prints each
message as the topic's subscribers would read it, the target's input transformer applied the way
EventBridge applies a string template (`render`). Alarms of the stack are CloudWatch's, which moto
does not evaluate from metrics; their state changes (SetAlarmState) are printed too, with the alarm's
description (what to do).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from seam_local.console import Log, silent
from seam_local.pollers import Worker
from seam_local.template import StackTemplate

_PATH = re.compile(r"\$(\.[\w-]+)+")


@dataclass(frozen=True)
class AlertQueue:
    rule: str
    queue_url: str
    transformer: dict[str, Any] | None  # InputTransformer of the SNS target


def json_path(document: dict[str, Any], path: str) -> Any:
    """An InputPathsMap path ($.a.b: no wildcards, no indexes) in `document`; None when absent."""
    if not _PATH.fullmatch(path):
        raise ValueError(f"unsupported input path {path!r}")
    value: Any = document
    for part in path.split(".")[1:]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def render(event: dict[str, Any], transformer: dict[str, Any] | None) -> str:
    """The text a string InputTemplate makes of `event`: each quoted line is a line of the message,
    each <name> replaced by its path's value. Without a transformer, the event itself."""
    if not transformer:
        return json.dumps(event)
    values = {name: json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    lines = re.findall(r'^"(.*)"$', transformer["InputTemplate"].strip(), flags=re.M)
    return "\n".join(
        re.sub(r"<([\w-]+)>", lambda m: "" if values.get(m[1]) is None else str(values[m[1]]), line)
        for line in lines
    )


def subscribe(cfn: StackTemplate, sqs: Any, events: Any) -> list[AlertQueue]:
    """A stand-in queue for each rule target on an SNS topic (the rules exist already: wiring.deploy)."""
    found = []
    for logical, resource in cfn.of_type("AWS::Events::Rule").items():
        props = cfn.resolve(resource["Properties"])
        for target in props.get("Targets", []):
            if target["Arn"].split(":")[2] != "sns":
                continue
            rule = cfn.physical_name(logical)
            url = sqs.create_queue(QueueName=f"{rule}-{target['Id']}-local"[:80])["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            bus = props.get("EventBusName", "default")
            events.put_targets(
                Rule=rule, EventBusName=bus, Targets=[{"Id": f"{target['Id']}Local", "Arn": arn}]
            )
            found.append(AlertQueue(rule, url, target.get("InputTransformer")))
    return found


_ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
)


def subscribe_alarms(
    cfn: StackTemplate, sqs: Any, events: Any, cloudwatch: Any
) -> tuple[str, dict[str, str]]:
    """The stack's alarms in the emulator (those on one metric; moto cannot hold a Metrics Insights
    query's), and a stand-in queue for their state changes: (queue URL, alarm name -> description)."""
    descriptions = {}
    for resource in cfn.of_type("AWS::CloudWatch::Alarm").values():
        props = cfn.resolve(resource["Properties"])
        descriptions[props["AlarmName"]] = " ".join(str(props.get("AlarmDescription", "")).split())
        if "MetricName" in props:
            cloudwatch.put_metric_alarm(**{k: props[k] for k in _ALARM_FIELDS if k in props})
    rule = f"seam-{cfn.stage}-alarms-local"
    url = sqs.create_queue(QueueName=rule)["QueueUrl"]
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": sorted(descriptions)},
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=rule, Targets=[{"Id": "AlarmsLocal", "Arn": _queue_arn(sqs, url)}])
    return url, descriptions


def _queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def alarm_line(event: dict[str, Any], descriptions: dict[str, str]) -> str | None:
    """A stack alarm's state change, as its notification would say it; None for other alarms."""
    detail = event.get("detail", {})
    name = detail.get("alarmName", "")
    if name not in descriptions:
        return None
    state = detail.get("state", {})
    return f"{name} is {state.get('value')}: {state.get('reason', '')}\nWhat to do: {descriptions[name]}"


class AlertSubscriber(Worker):
    """Prints what the alert topic would send: run outcomes (transformed) and the stack's alarms."""

    name = "alert-subscriber"

    def __init__(
        self,
        sqs: Any,
        queues: list[AlertQueue],
        alarm_queue_url: str | None = None,
        alarm_descriptions: dict[str, str] | None = None,
        log: Log = silent,
    ) -> None:
        super().__init__(log)
        self.sqs, self.queues = sqs, queues
        self.alarm_queue_url, self.alarm_descriptions = alarm_queue_url, alarm_descriptions or {}
        self.printed: list[str] = []  # what it printed (tests read it)

    def step(self) -> None:
        if not self.poll_once():
            self._stop.wait(0.5)

    def poll_once(self) -> int:
        count = 0
        for queue in self.queues:
            for event in self._receive(queue.queue_url):
                self._print(render(event, queue.transformer))
                count += 1
        if self.alarm_queue_url:
            for event in self._receive(self.alarm_queue_url):
                line = alarm_line(event, self.alarm_descriptions)
                if line:
                    self._print(line)
                count += 1
        return count

    def _print(self, message: str) -> None:
        self.printed.append(message)
        for line in message.splitlines():
            self.log("alert", line)

    def _receive(self, url: str) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]
