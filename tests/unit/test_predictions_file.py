"""The per-row predictions file an image's `evaluate` writes: what parses, and each named refusal."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from seam.errors import PredictionsError
from seam.models.predictions import Predictions, positional_ids


def test_a_file_parses_column_wise_in_its_own_order() -> None:
    content = "row_id,label,score\n2,1,0.875\n0,0,1e-3\n\n1,1,1\n"
    predictions = Predictions.from_csv(content)
    assert predictions.row_ids == ("2", "0", "1")
    assert predictions.labels == (1.0, 0.0, 1.0)
    assert predictions.scores == (0.875, 0.001, 1.0)
    assert predictions.rows == 3


def test_bytes_with_a_byte_order_mark_and_crlf_parse_the_same() -> None:
    content = "\ufeffrow_id,label,score\r\n0,0,0.25\r\n1,1,0.75\r\n".encode()
    assert Predictions.from_csv(content) == Predictions.from_csv("row_id,label,score\n0,0,0.25\n1,1,0.75\n")


def test_scores_keep_full_precision() -> None:
    score = 0.1 + 0.2  # 0.30000000000000004: repr round-trips
    assert Predictions.from_csv(f"row_id,label,score\n0,1,{score!r}\n").scores == (score,)


@pytest.mark.parametrize(
    ("content", "rule", "detail"),
    [
        ("", "header", "got 'nothing'"),
        ("id,label,score\n0,1,0.5\n", "header", "must start with 'row_id,label,score'"),
        ("row_id,label,score,extra\n0,1,0.5,x\n", "header", "got 'row_id,label,score,extra'"),
        ("row_id,label,score\n", "no rows", "has a header but no rows"),
        ("row_id,label,score\n0,1\n", "row", "line 2: 2 fields, expected 3"),
        ("row_id,label,score\n0,1,0.5\n,0,0.5\n", "row", "line 3: empty row_id"),
        ("row_id,label,score\n0,1,high\n", "row", "line 2: score 'high' is not a number"),
        ("row_id,label,score\n0,yes,0.5\n", "row", "line 2: label 'yes' is not a number"),
        ("row_id,label,score\n0,1,0.5\n1,0,nan\n", "non-finite", "line 3: score is 'nan'"),
        ("row_id,label,score\n0,1,inf\n", "non-finite", "line 2: score is 'inf'"),
        ("row_id,label,score\n0,-Infinity,0.5\n", "non-finite", "line 2: label is '-Infinity'"),
        ("row_id,label,score\n0,1,0.5\n0,0,0.5\n", "duplicate row id", "line 3: row_id '0'"),
        ('row_id,label,score\n0,1,"0.5\n', "unreadable", "challenger predictions"),
    ],
)
def test_each_bad_file_fails_with_a_named_rule(content: str, rule: str, detail: str) -> None:
    with pytest.raises(PredictionsError) as caught:
        Predictions.from_csv(content, source="challenger predictions")
    assert caught.value.rule == rule
    assert detail in str(caught.value)


def test_a_file_that_is_not_utf8_is_unreadable() -> None:
    with pytest.raises(PredictionsError) as caught:
        Predictions.from_csv(b"row_id,label,score\n0,1,\xff\n")
    assert caught.value.rule == "unreadable"


def test_the_model_refuses_what_the_parser_refuses() -> None:
    ids = positional_ids(2)
    assert ids == ("0", "1")
    Predictions(row_ids=ids, labels=(0, 1), scores=(0.2, 0.8))
    for bad in (
        {"row_ids": ids, "labels": (0, 1), "scores": (0.2,)},
        {"row_ids": ("0", "0"), "labels": (0, 1), "scores": (0.2, 0.8)},
        {"row_ids": ids, "labels": (0, 1), "scores": (0.2, float("nan"))},
        {"row_ids": (), "labels": (), "scores": ()},
    ):
        with pytest.raises(ValidationError):
            Predictions(**bad)
