"""`python -m noop_model train|serve`: a model with nothing to learn, under the SageMaker container contract.

train (SM_BASE_DIR, default /opt/ml, as the SageMaker contract and local/seam_local/sagemaker.py use it):
    reads every *.csv of input/data/train/, whose `score` column carries the quality this model "reaches"
    on that data, prints `validation:score=<mean of score>` (the model's MetricDefinitions regex reads
    it), writes model/model.json and exits 0. Anything wrong goes to output/failure and exits 1.
    With a `holdout` channel (Seam's paired evaluation, bench/noop/model_paired.yaml) it also writes the
    per-row predictions Seam scores (examples/churn/README.md "Evaluation"): output/data/challenger.csv,
    and output/data/champion.csv for a `champion` channel's model.tar.gz. A model of quality q predicts
    the row's `feature` plus 1/q: its mean absolute error on any rows is 1/q, so a better model wins.
serve:
    answers GET /ping and POST /invocations on SEAM_SERVE_HOST:PORT with the SEAM_MODEL_VERSION it was
    given; it loads nothing (the artifact is a stub), so a rollout is as fast as a process start.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

METRIC = "validation:score"


def train() -> int:
    base = Path(os.environ.get("SM_BASE_DIR", "/opt/ml"))
    try:
        scores: list[float] = []
        for path in sorted((base / "input" / "data" / "train").rglob("*.csv")):
            with path.open(newline="", encoding="utf-8") as handle:
                scores += [float(row["score"]) for row in csv.DictReader(handle)]
        if not scores:
            raise ValueError("no rows with a score column in input/data/train/")
        metric = sum(scores) / len(scores)
        print(f"{METRIC}={metric:.6f}", flush=True)
        model = base / "model"
        model.mkdir(parents=True, exist_ok=True)
        (model / "model.json").write_text(json.dumps({"kind": "noop", METRIC: metric}) + "\n")
        if (base / "input" / "data" / "holdout").is_dir():
            write_predictions(base, metric)
        return 0
    except Exception as exc:
        (base / "output").mkdir(parents=True, exist_ok=True)
        (base / "output" / "failure").write_text(f"{type(exc).__name__}: {exc}"[:1024])
        print(f"training failed: {exc}", file=sys.stderr)
        return 1


def write_predictions(base: Path, quality: float) -> None:
    """challenger.csv (this model) and, given a champion channel, champion.csv (its model.json's quality)
    on the holdout's rows: row_id (position), label (`feature`), score (feature + 1/quality)."""
    features: list[float] = []
    for path in sorted((base / "input" / "data" / "holdout").rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            features += [float(row["feature"]) for row in csv.DictReader(handle)]
    output = base / "output" / "data"
    output.mkdir(parents=True, exist_ok=True)
    models = {"challenger": quality}
    for archive in sorted((base / "input" / "data" / "champion").glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            member = tar.extractfile("model.json")
            assert member is not None, f"{archive} holds no model.json"
            models["champion"] = json.load(io.TextIOWrapper(member, encoding="utf-8"))[METRIC]
    print(f"validation:mae={1 / quality:.6f}", flush=True)  # the challenger's, as the log reports it
    for name, q in models.items():
        rows = "".join(f"{i},{f!r},{f + 1 / q!r}\n" for i, f in enumerate(features))
        (output / f"{name}.csv").write_text("row_id,label,score\n" + rows, encoding="utf-8")


class _Handler(BaseHTTPRequestHandler):
    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/ping":
            self.send_error(404)
            return
        self._reply({"status": "ok", "model_version": os.environ.get("SEAM_MODEL_VERSION", "unknown")})

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        instances = json.loads(self.rfile.read(length) or b"{}").get("instances", [])
        version = os.environ.get("SEAM_MODEL_VERSION", "unknown")
        self._reply({"predictions": [0.0 for _ in instances], "model_version": version})

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve() -> int:
    host = os.environ.get("SEAM_SERVE_HOST", "0.0.0.0")
    server = ThreadingHTTPServer((host, int(os.environ.get("PORT", "8080"))), _Handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.1)
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "train":
        return train()
    if command == "serve":
        return serve()
    print("usage: python -m noop_model {train|serve}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
