"""One line per thing that happens in the local runtime: events, state transitions, handler calls,
training output, rollouts. Every part logs through a `Log` callable, so the demo can quieten it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from rich.console import Console
from rich.markup import escape

Log = Callable[[str, str], None]  # (kind, message)

STYLES = {
    "runtime": "bold",
    "event": "magenta",
    "state": "cyan",
    "lambda": "blue",
    "training": "dim",
    "sagemaker": "yellow",
    "serving": "green",
    "schedule": "magenta",
    "error": "bold red",
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
