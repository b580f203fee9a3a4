"""Follows the state machine's executions through their history: logs every state entered and every
execution that ends, and keeps a view of each (states with entry/exit times) for the demo's display."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seam_local.console import Log, silent
from seam_local.pollers import Worker


@dataclass
class StateVisit:
    name: str
    entered: datetime
    exited: datetime | None = None

    def seconds(self, now: datetime) -> float:
        return ((self.exited or now) - self.entered).total_seconds()


@dataclass
class ExecutionView:
    name: str
    arn: str
    status: str
    started: datetime
    stopped: datetime | None = None
    states: list[StateVisit] = field(default_factory=list)
    seen: int = 0  # history events already read

    @property
    def current(self) -> str | None:
        open_states = [s for s in self.states if s.exited is None]
        return open_states[-1].name if open_states else None


class ExecutionWatcher(Worker):
    name = "execution-watcher"

    def __init__(self, sfn: Any, state_machine_arn: str, *, interval: float = 0.2, log: Log = silent) -> None:
        super().__init__(log)
        self.sfn, self.state_machine_arn, self.interval = sfn, state_machine_arn, interval
        self._views: dict[str, ExecutionView] = {}
        self._lock = threading.Lock()

    def step(self) -> None:
        self.poll()
        self._stop.wait(self.interval)

    def poll(self) -> None:
        pages = self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn)
        for execution in (e for page in pages for e in page["executions"]):
            view = self._views.get(execution["name"])
            if view is None:
                view = ExecutionView(
                    execution["name"], execution["executionArn"], "RUNNING", execution["startDate"]
                )
                with self._lock:
                    self._views[view.name] = view
            if view.status != "RUNNING":
                continue
            events = self.sfn.get_execution_history(executionArn=view.arn, maxResults=1000)["events"]
            with self._lock:
                for event in events[view.seen :]:
                    self._apply(view, event)
                view.seen = len(events)

    def _apply(self, view: ExecutionView, event: dict[str, Any]) -> None:
        at = event["timestamp"]
        if "stateEnteredEventDetails" in event:
            name = event["stateEnteredEventDetails"]["name"]
            view.states.append(StateVisit(name, at))
            self.log("state", f"{view.name} -> {name}")
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            for visit in reversed(view.states):
                if visit.name == name and visit.exited is None:
                    visit.exited = at
                    break
        elif event["type"] in (
            "ExecutionSucceeded",
            "ExecutionFailed",
            "ExecutionAborted",
            "ExecutionTimedOut",
        ):
            view.status = event["type"].removeprefix("Execution").upper().replace("TIMEDOUT", "TIMED_OUT")
            view.stopped = at
            for visit in view.states:
                visit.exited = visit.exited or at
            cause = (event.get("executionFailedEventDetails") or {}).get("cause", "")
            self.log("state", f"{view.name} {view.status} {cause[:160]}".rstrip())

    def views(self) -> list[ExecutionView]:
        with self._lock:
            return [copy.deepcopy(v) for v in sorted(self._views.values(), key=lambda v: v.started)]

    def view(self, name: str) -> ExecutionView | None:
        with self._lock:
            found = self._views.get(name)
            return copy.deepcopy(found) if found else None
