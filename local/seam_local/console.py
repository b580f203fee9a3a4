"""One line per thing that happens in the local runtime: events, state transitions, handler calls,
training output, rollouts. Every part logs through a `Log` callable, so the demo can quieten it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from seam_local.moto_hooks import Invocation

Log = Callable[[str, str], None]  # (kind, message)

STYLES = {
    "runtime": "bold",
    "event": "magenta",
    "state": "cyan",
    "lambda": "blue",
    "training": "dim",
    "processing": "dim",
    "sagemaker": "yellow",
    "serving": "green",
    "schedule": "magenta",
    "error": "bold red",
    "alert": "bold yellow",  # what the alert topic would send (seam_local.alerts)
}


class RuntimeLog:
    """Prints `HH:MM:SS.mmm kind message` to a rich console; `kinds` limits what is shown."""

    def __init__(self, console: Console | None = None, kinds: Iterable[str] | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.kinds = set(kinds) if kinds is not None else None
        self._lock = threading.Lock()

    def __call__(self, kind: str, message: str) -> None:
        if self.kinds is not None and kind not in self.kinds and kind != "error":
            return
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        style = STYLES.get(kind, "")
        with self._lock:
            self.console.print(f"[dim]{stamp}[/] [{style}]{kind:<9}[/] {escape(message)}", soft_wrap=True)


def silent(kind: str, message: str) -> None:
    """A Log that drops everything (tests)."""


def invocation_line(invocation: Invocation) -> tuple[str, str]:
    """(kind, message) for a handler call: the function, what it was given (a run id or an SQS batch
    size) and what came of it (the status it returned, the failed records, or the error it raised)."""
    event, result = invocation.event, invocation.result
    if isinstance(event, dict) and "Records" in event:
        what = f"{len(event['Records'])} SQS record(s)"
    elif isinstance(event, dict):
        state = event.get("state", event)
        what = str(state.get("run_id", "")) if isinstance(state, dict) else ""
    else:
        what = ""
    if invocation.error:
        return "error", f"{invocation.function_name}({what}) raised {invocation.error}"
    outcome = ""
    if isinstance(result, dict) and "batchItemFailures" in result:
        outcome = f" ({len(result['batchItemFailures'])} failed)" if result["batchItemFailures"] else ""
    elif isinstance(result, dict) and "status" in result:
        outcome = f" -> {result['status']}"
    return "lambda", f"{invocation.function_name}({what}){outcome}"
