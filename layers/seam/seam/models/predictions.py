"""Per-row predictions: what an image's `evaluate` entry point writes for one model on the holdout.

The file (the image contract, examples/churn/README.md "Evaluation"):

    row_id,label,score
    0,1,0.8731
    1,0,0.1207

- CSV, UTF-8 (a byte-order mark is tolerated), `\\n` or `\\r\\n` line ends, exactly the header
  `row_id,label,score`, one line per holdout row, in any order (Seam matches rows by id);
- `row_id`: the row's id in the holdout, a non-empty string. For a CSV data channel it is the row's
  0-based position among the data rows, files in sorted path order, header lines and blank lines not
  counted (`positional_ids`);
- `label`: the row's label as read from the data (0/1 for classifiers, a number for regressors);
- `score`: the model's output: the probability of class 1 for a classifier, the predicted value for a
  regressor. Any decimal that Python's `float()` reads; NaN and infinities are refused.

CSV rather than JSON Lines: the holdout itself is CSV, three scalar columns need no nesting or types that
CSV cannot carry, and the file is about half the size and parses faster (stdlib `csv` against one
`json.loads` per line). The file is held column-wise (three tuples) rather than as one pydantic object per
row: a 100,000-row holdout costs one validation, not 100,000.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from seam.errors import PredictionsError

PREDICTIONS_HEADER = ("row_id", "label", "score")


def positional_ids(rows: int) -> tuple[str, ...]:
    """The row ids of a holdout whose rows are identified by position: "0", "1", ..."""
    return tuple(str(index) for index in range(rows))


class Predictions(BaseModel):
    """One model's per-row predictions on a holdout, column-wise: row i is
    (row_ids[i], labels[i], scores[i])."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row_ids: tuple[str, ...] = Field(min_length=1)
    labels: tuple[FiniteFloat, ...]
    scores: tuple[FiniteFloat, ...]

    @model_validator(mode="after")
    def _one_row_per_id(self) -> Self:
        if not len(self.row_ids) == len(self.labels) == len(self.scores):
            raise ValueError(
                f"columns differ in length: {len(self.row_ids)} row ids, {len(self.labels)} labels, "
                f"{len(self.scores)} scores"
            )
        if len(set(self.row_ids)) != len(self.row_ids):
            raise ValueError("row ids are not unique")
        return self

    @property
    def rows(self) -> int:
        return len(self.row_ids)

    @classmethod
    def from_csv(cls, content: str | bytes, *, source: str = "predictions") -> Predictions:
        """Parse a predictions file; every fault is a `PredictionsError` naming its rule and line.
        `source` names the file in messages (e.g. "challenger predictions")."""
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise PredictionsError("unreadable", f"{source} is not UTF-8: {exc}") from None
        content = content.removeprefix("\ufeff")
        row_ids: list[str] = []
        labels: list[float] = []
        scores: list[float] = []
        seen: set[str] = set()
        reader = csv.reader(io.StringIO(content, newline=""), strict=True)
        try:
            header = next(reader, None)
            if header is None or tuple(cell.strip() for cell in header) != PREDICTIONS_HEADER:
                got = ",".join(header) if header else "nothing"
                raise PredictionsError(
                    "header", f"{source} must start with {','.join(PREDICTIONS_HEADER)!r}, got {got[:80]!r}"
                )
            for line, record in enumerate(reader, start=2):
                if not record:
                    continue
                if len(record) != 3:
                    raise PredictionsError("row", f"{source} line {line}: {len(record)} fields, expected 3")
                row_id = record[0].strip()
                if not row_id:
                    raise PredictionsError("row", f"{source} line {line}: empty row_id")
                if row_id in seen:
                    raise PredictionsError("duplicate row id", f"{source} line {line}: row_id {row_id!r}")
                seen.add(row_id)
                row_ids.append(row_id)
                labels.append(_number(record[1], "label", source, line))
                scores.append(_number(record[2], "score", source, line))
        except csv.Error as exc:
            raise PredictionsError("unreadable", f"{source}: {exc}") from None
        if not row_ids:
            raise PredictionsError("no rows", f"{source} has a header but no rows")
        return cls(row_ids=tuple(row_ids), labels=tuple(labels), scores=tuple(scores))


def _number(cell: str, column: str, source: str, line: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise PredictionsError(
            "row", f"{source} line {line}: {column} {cell[:40]!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise PredictionsError("non-finite", f"{source} line {line}: {column} is {cell.strip()!r}")
    return value
