"""CloudWatch alarms emit their state changes. A SetAlarmState that changes an alarm's state puts
"CloudWatch Alarm State Change" on the default bus, as CloudWatch does; moto emits no event.

moto member: `moto.cloudwatch.models.CloudWatchBackend.set_alarm_state` (wrapped: moto still sets the
state); moto has no notification point for alarm state changes.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend
from moto.events.models import events_backends

from seam_local.moto_hooks.patching import Hook, Patch


def _set_alarm_state(
    self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str
) -> None:
    alarm = self.alarms.get(alarm_name)
    before = (
        (alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp)
        if alarm
        else None
    )
    SET_ALARM_STATE.original(self, alarm_name, reason, reason_data, state_value)
    alarm = self.alarms[alarm_name]
    if before is None or before[0] == alarm.state_value:
        return  # CloudWatch emits an event only when the state changes
    events_backends[self.account_id][self.region_name].put_events([alarm_state_change(alarm, before)])


def alarm_state_change(alarm: Any, before: tuple[str, str, str, datetime]) -> dict[str, Any]:
    """A PutEvents entry with CloudWatch's "CloudWatch Alarm State Change" detail."""

    def state(value: str, reason: str, reason_data: str, at: datetime) -> dict[str, str]:
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
        return {"value": value, "reason": reason, "reasonData": reason_data or "{}", "timestamp": stamp}

    metric: dict[str, Any] = {
        "metric": {
            "namespace": alarm.namespace,
            "name": alarm.metric_name,
            "dimensions": {d.name: d.value for d in alarm.dimensions},
        },
        "period": alarm.period,
        "stat": alarm.statistic,
    }
    detail = {
        "alarmName": alarm.name,
        "state": state(
            alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp
        ),
        "previousState": state(*before),
        "configuration": {
            "description": alarm.description or "",
            "metrics": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),
                    "metricStat": metric,
                    "returnData": True,
                }
            ],
        },
    }
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Detail": json.dumps(detail),
        "Resources": [alarm.alarm_arn],
    }


SET_ALARM_STATE = Patch(
    CloudWatchBackend,
    "set_alarm_state",
    _set_alarm_state,
    params=("self", "alarm_name", "reason", "reason_data", "state_value"),
)
HOOK: Hook[None] = Hook([SET_ALARM_STATE])
check = HOOK.check
