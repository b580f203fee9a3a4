"""`make reliability`: run tests/reliability and print what each scenario injected, expected and observed.

    python -m tests.reliability.report [--markdown] [pytest args...]

Each scenario test fills in a row through the `figure` fixture (pytest's record_property); a failing
test without a row gets one from its failure. The last line is exactly ``N passed, M failed`` (rows);
the exit code is non-zero when anything failed.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
COLUMNS = (("scenario", 30), ("injected", 44), ("expected", 36), ("observed", 48), ("result", 6))


@dataclass
class Collector:
    """pytest plugin: rows by test, and each test's outcome."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # nodeid -> passed | failed | skipped
    failures: dict[str, str] = field(default_factory=dict)  # nodeid -> first line of the failure
    order: list[str] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.order:
            self.order.append(report.nodeid)
        for name, value in report.user_properties:
            if name == "reliability":
                self.rows[report.nodeid] = list(value)
        previous = self.outcomes.get(report.nodeid)
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
            self.failures.setdefault(report.nodeid, _first_error_line(report))
        elif report.skipped and previous is None:
            self.outcomes[report.nodeid] = "skipped"
        elif report.when == "call" and previous is None:
            self.outcomes[report.nodeid] = "passed"

    def table(self) -> list[dict[str, str]]:
        rows = []
        for nodeid in self.order:
            outcome = self.outcomes.get(nodeid, "failed")
            if outcome == "skipped":
                continue
            result = "PASS" if outcome == "passed" else "FAIL"
            found = self.rows.get(nodeid)
            if not found:
                if outcome == "passed":
                    continue  # a passing test that reports no row of its own
                found = [{"scenario": nodeid.split("::", 1)[-1], "injected": "", "expected": ""}]
            for row in found:
                observed = row.get("observed") or ""
                if outcome != "passed":
                    observed = f"{observed} | FAILED: {self.failures.get(nodeid, '')}".strip(" |")
                rows.append({**row, "observed": observed, "result": result})
        return rows


def _first_error_line(report: pytest.TestReport) -> str:
    text = report.longreprtext or ""
    for line in text.splitlines():
        if line.startswith("E "):
            return line[1:].strip()[:200]
    return (text.strip().splitlines() or ["error"])[-1][:200]


def render_text(rows: list[dict[str, str]]) -> str:
    lines = []
    header = " | ".join(name.ljust(width) for name, width in COLUMNS)
    lines += [header, "-" * len(header)]
    for row in rows:
        cells = [textwrap.wrap(str(row.get(name, "")), width) or [""] for name, width in COLUMNS]
        for i in range(max(len(c) for c in cells)):
            lines.append(
                " | ".join(
                    (c[i] if i < len(c) else "").ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)
                )
            )
        lines.append("-" * len(header))
    return "\n".join(lines)


def render_markdown(rows: list[dict[str, str]]) -> str:
    names = [name for name, _ in COLUMNS]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(n, "")).replace("|", "\\|") for n in names) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    markdown = "--markdown" in argv
    args = [a for a in argv if a != "--markdown"]
    collector = Collector()
    code = pytest.main([str(HERE), "-q", "-p", "no:logging", *args], plugins=[collector])
    rows = collector.table()
    print()
    print(render_markdown(rows) if markdown else render_text(rows))
    passed = sum(1 for r in rows if r["result"] == "PASS")
    failed = len(rows) - passed
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not failed:
        failed = 1  # collection or usage error: nothing ran
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or code != pytest.ExitCode.OK else 0


def _entry() -> Any:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    _entry()
