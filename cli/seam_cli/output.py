"""How `seam` prints: for people (a table, coloured on a terminal) or for scripts (`--output json`).

Every list and show command builds plain rows (dicts of JSON values, README "Output for scripts" lists
their fields) and hands them here. On a terminal a table is drawn by rich; anywhere else (a pipe, a
file) it is plain whitespace-aligned columns, like kubectl's: no cell is ever cut or wrapped, so
`seam runs | grep FAILED` and `seam runs > runs.txt` see every run id, status and reason whole.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_COLOURS = {
    "DEPLOYED": "green",
    "REGISTERED": "green",
    "REJECTED": "yellow",
    "SKIPPED": "yellow",
    "FAILED": "red",
}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table (for people) or json (stable fields, see README)"),
]


def is_terminal() -> bool:
    return sys.stdout.isatty()


def console() -> Console:
    """A rich console on the current stdout (CliRunner swaps it): never wraps or cuts what it prints."""
    return Console(file=sys.stdout, soft_wrap=True, highlight=False)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def print_lines(lines: Sequence[str]) -> None:
    """Key-value lines of a show command (may carry rich markup, dropped when not on a terminal)."""
    out = console()
    for line in lines:
        out.print(line if is_terminal() else Text.from_markup(line).plain)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], status_column: str | None = None
) -> None:
    """A table: rich on a terminal, plain aligned columns (headers in capitals, kubectl-style) otherwise."""
    cells = [[_cell(value) for value in row] for row in rows]
    if not is_terminal():
        sys.stdout.write(plain_table([h.upper() for h in headers], cells))
        return
    table = Table(*headers)
    status = headers.index(status_column) if status_column in headers else -1
    for row in cells:
        styled = [
            Text(value, style=STATUS_COLOURS.get(value, "cyan")) if n == status else Text(value)
            for n, value in enumerate(row)
        ]
        table.add_row(*styled)
    Console(file=sys.stdout, highlight=False).print(table)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell with three spaces between; the last column is not padded."""
    every = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[n]) for row in every) for n in range(len(headers))]
    lines = []
    for row in every:
        padded = [value.ljust(widths[n]) for n, value in enumerate(row[:-1])] + [row[-1]]
        lines.append("   ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    """One line per row: a newline inside a reason would split the row for grep, so it becomes a space."""
    if value is None or value == "":
        return "-"
    return " ".join(part.strip() for part in str(value).replace("\t", " ").splitlines()) or "-"
