"""Evaluation entry point: one model's per-row predictions on a data channel, the file Seam's paired
evaluation reads (examples/churn/README.md "Evaluation: the contract Seam scores models by").

    python -m churn_model evaluate [--model PATH] [--data DIR] [--output FILE]

--model   the model as training left it: a folder with model.joblib + metadata.json (/opt/ml/model), a
          folder holding model.tar.gz (the artifact delivered as a channel or ProcessingInput), or the
          model.tar.gz file itself. Default: /opt/ml/processing/model
--data    a folder of CSV files as the `train` channel takes them (header, numeric columns, the label
          `churned` 0/1); the model's features are found by name, other columns are ignored.
          Default: /opt/ml/processing/holdout
--output  the predictions file to write. Default: /opt/ml/processing/evaluation/predictions.csv

The file: `row_id,label,score`, one line per data row, in reading order (files sorted by path, then
lines; header and blank lines not counted); row_id is that 0-based position, label the row's `churned`,
score the model's probability of churn at full precision (`repr`, so Seam's metrics see what the model
computed, not a rounding). It is written to a temporary name and renamed, so it exists only complete.

Exit codes: 0 the file is written; 1 it is not, and the reason (ClientError: the data's or the model's
fault; AlgorithmError: anything else), at most 1,024 characters, is in /opt/ml/output/message (which a
SageMaker Processing job reports as ExitMessage) and /opt/ml/output/failure (which a training job reports
as FailureReason); 2 bad arguments, the reason in the same two files. `SM_BASE_DIR` replaces /opt/ml.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import traceback
from pathlib import Path

from churn_model.serve import LoadedModel
from churn_model.train import FAILURE_LIMIT, TrainingError, base_dir, read_rows

HEADER = "row_id,label,score\n"


class EvaluationInputError(Exception):
    """The model or the data cannot be evaluated; the caller's fault, not a bug."""


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def parse_args(argv: list[str], base: Path) -> argparse.Namespace:
    processing = base / "processing"
    parser = _Parser(prog="python -m churn_model evaluate", description="per-row predictions of a model")
    parser.add_argument("--model", type=Path, default=processing / "model")
    parser.add_argument("--data", type=Path, default=processing / "holdout")
    parser.add_argument("--output", type=Path, default=processing / "evaluation" / "predictions.csv")
    return parser.parse_args(argv)


def model_folder(path: Path, work: Path) -> Path:
    """The folder holding model.joblib + metadata.json, extracting model.tar.gz when that is what is given."""
    archive = path
    if path.is_dir():
        if (path / "metadata.json").is_file():
            return path
        archive = path / "model.tar.gz"
    if not archive.is_file():
        raise EvaluationInputError(
            f"no model at {path} (expected metadata.json + model.joblib or model.tar.gz)"
        )
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(work, filter="data")  # refuses absolute paths, `..`, links out of the tree
    except tarfile.TarError as exc:
        raise EvaluationInputError(f"{archive.name} is not a readable model archive: {exc}") from exc
    return work


def predictions(model_path: Path, data: Path) -> tuple[list[int], list[float]]:
    """The labels and the model's probabilities of churn for every row of the data channel, in order."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="churn-evaluate-") as tmp:
        try:
            model = LoadedModel(model_folder(model_path, Path(tmp)), version="evaluated")
        except EvaluationInputError:
            raise
        except Exception as exc:  # a missing, truncated or foreign artifact is the model's fault
            raise EvaluationInputError(f"cannot load the model from {model_path}: {exc}") from exc
    try:
        columns, rows, labels = read_rows(data, "data")
    except TrainingError as exc:
        raise EvaluationInputError(str(exc)) from exc
    missing = [name for name in model.features if name not in columns]
    if missing:
        raise EvaluationInputError(f"the data lacks the model's feature column(s) {missing}")
    if not rows:
        raise EvaluationInputError(f"the data channel {data} holds no rows")
    picked = [columns.index(name) for name in model.features]
    matrix = np.asarray([[row[i] for i in picked] for row in rows], dtype=float)
    scores = model.estimator.predict_proba(matrix)[:, 1]
    return labels, [float(score) for score in scores]


def write_predictions(output: Path, labels: list[int], scores: list[float]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        handle.writelines(
            f"{row},{label},{score!r}\n"
            for row, (label, score) in enumerate(zip(labels, scores, strict=True))
        )
    os.replace(partial, output)


def write_reason(base: Path, reason: str) -> None:
    output = base / "output"
    output.mkdir(parents=True, exist_ok=True)
    for name in ("message", "failure"):
        (output / name).write_text(reason[:FAILURE_LIMIT], encoding="utf-8")


def run(argv: list[str], base: Path | None = None) -> int:
    """Evaluate under the contract; return the process exit code (0 written, 1 failed, 2 bad arguments)."""
    base = base or base_dir()
    try:
        args = parse_args(argv, base)
    except UsageError as exc:
        reason = f"ClientError: bad arguments: {exc}"
        print(reason, file=sys.stderr, flush=True)
        write_reason(base, reason)
        return 2
    try:
        labels, scores = predictions(args.model, args.data)
        write_predictions(args.output, labels, scores)
    except EvaluationInputError as exc:
        reason = f"ClientError: {exc}"
        print(reason, file=sys.stderr, flush=True)
        write_reason(base, reason)
        return 1
    except Exception as exc:  # any other error still ends in the reason files and a non-zero exit
        traceback.print_exc()
        write_reason(base, f"AlgorithmError: {type(exc).__name__}: {exc}")
        return 1
    print(f"evaluate: {len(labels)} rows of {args.data} -> {args.output}", flush=True)
    return 0


def main(argv: list[str]) -> None:
    sys.exit(run(argv))
