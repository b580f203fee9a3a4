"""Run outcomes as EventBridge events on Seam's bus (ModelDeployed, RunRejected, RunFailed, ...)."""

from __future__ import annotations

import json
from typing import Any

from seam.adapters.aws import aws_call, client

SOURCE = "seam.workflow"


class OutcomePublisher:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, default=str),
            "EventBusName": self.bus_name,
            "Resources": [],
        }
        with aws_call(f"PutEvents {detail_type}"):
            failed = client("events").put_events(Entries=[entry]).get("FailedEntryCount", 0)
        if failed:
            raise RuntimeError(f"PutEvents rejected the {detail_type} event")
