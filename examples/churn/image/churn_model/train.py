"""Training entry point under the SageMaker training-container contract.

SageMaker runs the image as `docker run IMAGE train` and mounts (docs: "How Amazon SageMaker AI provides
training information" / "How Amazon SageMaker AI processes training output"):

    /opt/ml/input/config/hyperparameters.json   CreateTrainingJob HyperParameters, every value a string
    /opt/ml/input/data/<channel>/                one folder per input channel (here: `train`, and for
                                                 Seam's paired evaluation `holdout` and `champion`)
    /opt/ml/model/                               everything written here is uploaded as model.tar.gz
    /opt/ml/output/data/                         uploaded as output.tar.gz beside it: with a `holdout`
                                                 channel, challenger.csv (the new model's per-row
                                                 predictions) and, with a `champion` channel (the serving
                                                 model's model.tar.gz), champion.csv, or champion.error
                                                 when the champion cannot be scored
    /opt/ml/output/failure                       on failure: the reason; DescribeTrainingJob returns its
                                                 first 1024 characters as FailureReason

Success or failure is the process exit code (0 -> Completed, non-zero -> Failed). Metrics are lines on
stdout that the job's metric definitions match, e.g. `validation:auc=([0-9\\.]+)`.

`SM_BASE_DIR` (default `/opt/ml`) moves the whole tree, so Seam's local runtime can run this in a work
folder. Everything is seeded: the same data and hyperparameters give the same model and metrics.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import traceback
from pathlib import Path
from typing import Any

LABEL = "churned"
CHANNEL = "train"
MIN_ROWS = 50
FAILURE_LIMIT = 1024  # characters of output/failure that SageMaker reports as FailureReason

DEFAULT_HYPERPARAMETERS = {
    "C": "1.0",  # inverse regularisation strength of the logistic regression
    "max_iter": "500",
    "validation_fraction": "0.2",
    "seed": "42",
}


class TrainingError(Exception):
    """A reason to fail the job that is the data's or the configuration's fault, not a bug."""


def base_dir() -> Path:
    return Path(os.environ.get("SM_BASE_DIR", "/opt/ml"))


def load_hyperparameters(path: Path) -> dict[str, Any]:
    raw: dict[str, str] = dict(DEFAULT_HYPERPARAMETERS)
    if path.exists():
        try:
            given = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise TrainingError(f"hyperparameters.json is not JSON: {exc}") from exc
        if not isinstance(given, dict):
            raise TrainingError("hyperparameters.json must hold a JSON object")
        raw.update({str(k): str(v) for k, v in given.items()})
    try:
        values = {
            "C": float(raw["C"]),
            "max_iter": int(raw["max_iter"]),
            "validation_fraction": float(raw["validation_fraction"]),
            "seed": int(raw["seed"]),
        }
    except ValueError as exc:
        raise TrainingError(f"bad hyperparameter value: {exc}") from exc
    if not (values["C"] > 0 and math.isfinite(values["C"])):
        raise TrainingError(f"C must be a positive number, got {raw['C']!r}")
    if values["max_iter"] < 1:
        raise TrainingError(f"max_iter must be >= 1, got {raw['max_iter']!r}")
    if not 0.05 <= values["validation_fraction"] <= 0.5:
        raise TrainingError(
            f"validation_fraction must be within [0.05, 0.5], got {raw['validation_fraction']!r}"
        )
    return values


def read_channel(channel_dir: Path) -> tuple[list[str], list[list[float]], list[int]]:
    """The training data: `read_rows` of the `train` channel, enough rows and both classes."""
    features, rows, labels = read_rows(channel_dir, CHANNEL)
    if len(rows) < MIN_ROWS:
        raise TrainingError(f"only {len(rows)} data rows, need at least {MIN_ROWS}")
    if len(set(labels)) < 2:
        raise TrainingError(f"{LABEL} has a single class; need both 0 and 1")
    return features, rows, labels


def read_rows(channel_dir: Path, channel: str) -> tuple[list[str], list[list[float]], list[int]]:
    """Every *.csv under the channel (sorted, recursive): one header, numeric values, a 0/1 label. Rows
    come in reading order (files by path, then lines; blank lines skipped): `evaluate` identifies a row
    by its position in it."""
    if not channel_dir.is_dir():
        raise TrainingError(f"input channel {channel!r} is missing ({channel_dir})")
    files = sorted(p for p in channel_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise TrainingError(f"input channel {channel!r} holds no files")
    header: list[str] | None = None
    rows: list[list[float]] = []
    labels: list[int] = []
    for path in files:
        name = path.relative_to(channel_dir)
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            try:
                file_header = [c.strip() for c in next(reader)]
            except StopIteration:
                raise TrainingError(f"{name}: empty file") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise TrainingError(f"{name}: not a readable CSV: {exc}") from exc
            if LABEL not in file_header:
                raise TrainingError(f"{name}: no label column {LABEL!r} in header {file_header}")
            if len(set(file_header)) != len(file_header) or "" in file_header:
                raise TrainingError(f"{name}: header has empty or duplicate column names: {file_header}")
            if header is None:
                header = file_header
            elif file_header != header:
                raise TrainingError(f"{name}: header {file_header} differs from the first file's {header}")
            label_at = header.index(LABEL)
            try:
                for line_no, record in enumerate(reader, start=2):
                    if not record:
                        continue
                    if len(record) != len(header):
                        raise TrainingError(
                            f"{name} line {line_no}: {len(record)} fields, expected {len(header)}"
                        )
                    values: list[float] = []
                    for column, cell in zip(header, record, strict=True):
                        try:
                            value = float(cell)
                        except ValueError:
                            raise TrainingError(
                                f"{name} line {line_no}: column {column!r} is not a number: {cell[:40]!r}"
                            ) from None
                        if not math.isfinite(value):
                            raise TrainingError(f"{name} line {line_no}: column {column!r} is {cell!r}")
                        values.append(value)
                    label = values.pop(label_at)
                    if label not in (0.0, 1.0):
                        raise TrainingError(f"{name} line {line_no}: {LABEL} must be 0 or 1, got {label:g}")
                    rows.append(values)
                    labels.append(int(label))
            except (csv.Error, UnicodeDecodeError) as exc:
                raise TrainingError(f"{name}: not a readable CSV: {exc}") from exc
    assert header is not None
    features = [c for c in header if c != LABEL]
    if not features:
        raise TrainingError("no feature columns besides the label")
    return features, rows, labels


def train(base: Path) -> dict[str, Any]:
    # Imported here so a bad install fails inside the contract (written to output/failure).
    import joblib
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = load_hyperparameters(base / "input" / "config" / "hyperparameters.json")
    features, rows, labels = read_channel(base / "input" / "data" / CHANNEL)
    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=int)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=params["validation_fraction"], random_state=params["seed"], stratify=y
    )
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=params["C"], max_iter=params["max_iter"], random_state=params["seed"]),
    )
    model.fit(x_train, y_train)
    scores = model.predict_proba(x_val)[:, 1]
    metrics = {
        "validation:auc": round(float(roc_auc_score(y_val, scores)), 4),
        "validation:accuracy": round(float(accuracy_score(y_val, (scores >= 0.5).astype(int))), 4),
        "train:auc": round(float(roc_auc_score(y_train, model.predict_proba(x_train)[:, 1])), 4),
    }
    print(f"training rows={len(y_train)} validation rows={len(y_val)} features={','.join(features)}")
    for name, value in metrics.items():
        # One metric a line; the job's MetricDefinitions regexes read these from the log.
        print(f"{name}={value:.4f}", flush=True)

    model_dir = base / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    metadata = {
        "format": "joblib",
        "file": "model.joblib",
        "features": features,
        "label": LABEL,
        "positive_class": 1,
        "metrics": metrics,
        "hyperparameters": params,
        "rows": {"train": len(y_train), "validation": len(y_val)},
        "libraries": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
    }
    (model_dir / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return metadata


def score_holdout(base: Path) -> None:
    """Seam's paired evaluation without another job: with a `holdout` channel, the new model's per-row
    predictions on it (output/data/challenger.csv) and, with a `champion` channel, the serving model's
    (champion.csv). A champion that cannot be scored is not this job's failure: the reason goes to
    champion.error and Seam ends the run with it. A challenger that cannot be scored fails the job."""
    from churn_model import evaluate

    data = base / "input" / "data"
    if not (data / "holdout").is_dir():
        return
    output = base / "output" / "data"
    try:
        labels, scores = evaluate.predictions(base / "model", data / "holdout")
    except evaluate.EvaluationInputError as exc:
        raise TrainingError(f"the holdout cannot be scored: {exc}") from exc
    evaluate.write_predictions(output / "challenger.csv", labels, scores)
    print(f"holdout: {len(labels)} rows scored by the new model", flush=True)
    if not (data / "champion").is_dir():
        return
    try:
        labels, scores = evaluate.predictions(data / "champion", data / "holdout")
    except Exception as exc:  # the champion's artifact, whatever is wrong with it
        (output / "champion.error").write_text(
            f"{type(exc).__name__}: {exc}"[:FAILURE_LIMIT], encoding="utf-8"
        )
        print(f"holdout: the champion cannot be scored: {exc}", flush=True)
        return
    evaluate.write_predictions(output / "champion.csv", labels, scores)
    print(f"holdout: {len(labels)} rows scored by the champion", flush=True)


def write_failure(base: Path, reason: str) -> None:
    output = base / "output"
    output.mkdir(parents=True, exist_ok=True)
    (output / "failure").write_text(reason[:FAILURE_LIMIT], encoding="utf-8")


def run(base: Path | None = None) -> int:
    """Train under the contract; return the process exit code (0 success, 1 failure)."""
    base = base or base_dir()
    try:
        train(base)
        score_holdout(base)
    except TrainingError as exc:
        reason = f"ClientError: {exc}"
        print(reason, file=sys.stderr, flush=True)
        write_failure(base, reason)
        return 1
    except Exception as exc:  # any other error still ends in output/failure and a non-zero exit
        traceback.print_exc()
        write_failure(base, f"AlgorithmError: {type(exc).__name__}: {exc}")
        return 1
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
