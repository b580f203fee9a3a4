"""The run's holdout: which rows of the validated dataset are held out, chosen from the run id alone.

Row i (0-based among the data rows: the header and blank lines are not rows) is held out when the first
8 bytes of sha256(f"{run_id}:{i}"), read as a big-endian integer, are below fraction x 2^64, and fewer than
`max_rows` rows are held out already. The same run (a retried Validate, a reproduced decision) holds out
the same rows; another run holds out others; no row is both trained on and scored. Lines are kept as
bytes, exactly as read: the train file is the dataset minus the held-out lines, the holdout file the
header plus them (and then every row of the golden set, when the model has one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import BinaryIO

SCALE = 2**64


def rule(fraction: float, max_rows: int) -> str:
    return (
        f"data row i held out when int(sha256(f'{{run_id}}:{{i}}')[:8]) < {fraction} x 2^64, "
        f"at most {max_rows} rows"
    )


def held_out(run_id: str, index: int, threshold: int) -> bool:
    digest = hashlib.sha256(f"{run_id}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < threshold


class Split:
    """The result of `split_lines`: the holdout's lines (header first) and how many rows went where."""

    def __init__(self, header: bytes) -> None:
        self.header = header
        self.holdout: list[bytes] = []
        self.train_rows = 0

    @property
    def holdout_rows(self) -> int:
        return len(self.holdout)


def split_lines(
    lines: Iterable[bytes], train: BinaryIO, *, run_id: str, fraction: float, max_rows: int
) -> Split:
    """Write the header and every row that is not held out to `train`; return the held-out rows.
    `lines` keep their line ends; a last line without one gets one in either file."""
    threshold = int(fraction * SCALE)
    iterator = iter(lines)
    header = _ended(next(iterator, b""))
    train.write(header)
    split = Split(header)
    index = 0
    for line in iterator:
        if not line.strip():
            continue
        line = _ended(line)
        if len(split.holdout) < max_rows and held_out(run_id, index, threshold):
            split.holdout.append(line)
        else:
            train.write(line)
            split.train_rows += 1
        index += 1
    return split


def golden_rows(lines: Iterable[bytes]) -> tuple[bytes, list[bytes]]:
    """A golden set's header and its data rows (blank lines dropped)."""
    iterator = iter(lines)
    header = _ended(next(iterator, b""))
    return header, [_ended(line) for line in iterator if line.strip()]


def same_header(first: bytes, second: bytes) -> bool:
    """Headers equal as columns (a byte-order mark, spaces around names and the line end aside)."""
    return _columns(first) == _columns(second)


def _columns(header: bytes) -> list[str]:
    return [cell.strip() for cell in header.decode("utf-8-sig", errors="replace").strip().split(",")]


def _ended(line: bytes) -> bytes:
    return line if line.endswith(b"\n") else line + b"\n"
