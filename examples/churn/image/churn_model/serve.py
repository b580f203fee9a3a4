"""Serving entry point: the same image, run as `serve` in the team's EKS Deployment.

Environment (Seam's Deploy step sets the first two on the pod template):
    SEAM_MODEL_URI      s3://bucket/key/model.tar.gz (the training job's artifact), or file:///path to a
                        model.tar.gz or to a folder holding model.joblib + metadata.json
    SEAM_MODEL_VERSION  reported with every prediction (default "unknown")
    PORT                listen port (default 8080)
    SEAM_SERVE_HOST     bind address (default 0.0.0.0, as a container needs; tests use 127.0.0.1)
    AWS_ENDPOINT_URL(_S3)  honoured for s3:// (local emulator)

HTTP (the SageMaker-style pair):
    GET  /ping         200 {"status": "ok", "model_version": ...} once the model is loaded
    POST /invocations  {"instances": [{feature: number, ...}, ...]}
                    -> {"predictions": [p_churn, ...], "model_version": ...}

The model is loaded before the port opens, and a model that cannot be loaded ends the process non-zero, so
a bad rollout fails its readiness instead of serving errors. SIGTERM (Kubernetes) shuts down cleanly.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import tarfile
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

MAX_BODY_BYTES = 6 * 1024 * 1024  # the SageMaker real-time invocation payload limit, as a sane bound
MAX_INSTANCES = 10_000


class ModelLoadError(Exception):
    pass


class LoadedModel:
    def __init__(self, model_dir: Path, version: str) -> None:
        import joblib

        meta_path = model_dir / "metadata.json"
        if not meta_path.is_file():
            raise ModelLoadError(f"no metadata.json in the model artifact ({model_dir})")
        self.metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self.features: list[str] = list(self.metadata["features"])
        self.estimator = joblib.load(model_dir / self.metadata.get("file", "model.joblib"))
        self.version = version

    def predict(self, instances: list[dict[str, Any]]) -> list[float]:
        import numpy as np

        rows = []
        for index, instance in enumerate(instances):
            if not isinstance(instance, dict):
                raise ValueError(f"instances[{index}] is not an object")
            missing = [f for f in self.features if f not in instance]
            if missing:
                raise ValueError(f"instances[{index}] lacks feature(s) {missing}")
            row = []
            for feature in self.features:
                value = instance[feature]
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise ValueError(f"instances[{index}].{feature} must be a finite number")
                row.append(float(value))
            rows.append(row)
        if not rows:
            return []
        scores = self.estimator.predict_proba(np.asarray(rows, dtype=float))[:, 1]
        return [round(float(s), 6) for s in scores]


def _extract(archive: Path, into: Path) -> Path:
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(into, filter="data")  # refuses absolute paths, `..`, links out of the tree
    return into


def fetch_model(uri: str, work: Path) -> Path:
    """Resolve SEAM_MODEL_URI to a local folder holding model.joblib + metadata.json."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.netloc + parsed.path) if parsed.netloc else unquote(parsed.path))
        if path.is_dir():
            return path
        if not path.is_file():
            raise ModelLoadError(f"model file not found: {path}")
        return _extract(path, work / "model")
    if parsed.scheme == "s3":
        if not parsed.netloc or not parsed.path.strip("/"):
            raise ModelLoadError(f"not an s3://bucket/key URI: {uri}")
        import boto3  # lazily: file:// serving needs no AWS SDK

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        client = boto3.client("s3", endpoint_url=endpoint)
        archive = work / "model.tar.gz"
        client.download_file(parsed.netloc, parsed.path.lstrip("/"), str(archive))
        return _extract(archive, work / "model")
    raise ModelLoadError(f"unsupported SEAM_MODEL_URI scheme {parsed.scheme!r} (use s3:// or file://)")


def make_handler(model: LoadedModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "churn-model"
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": message, "model_version": model.version})

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == "/ping":
                self._send(HTTPStatus.OK, {"status": "ok", "model_version": model.version})
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path[:100]}")

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != "/invocations":
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path[:100]}")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self.close_connection = True
                self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
                return
            if length < 0 or length > MAX_BODY_BYTES:
                self.close_connection = True
                self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY_BYTES} bytes")
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                self._error(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}")
                return
            instances = payload.get("instances") if isinstance(payload, dict) else None
            if not isinstance(instances, list):
                self._error(HTTPStatus.BAD_REQUEST, 'expected {"instances": [{feature: value, ...}]}')
                return
            if len(instances) > MAX_INSTANCES:
                self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_INSTANCES} instances")
                return
            try:
                predictions = model.predict(instances)
            except ValueError as exc:
                self._error(HTTPStatus.BAD_REQUEST, str(exc))
                return
            self._send(HTTPStatus.OK, {"predictions": predictions, "model_version": model.version})

        def log_message(self, format: str, *args: Any) -> None:  # one line per request on stderr
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def build_server(model: LoadedModel, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(model))
    server.daemon_threads = True
    return server


def main() -> None:
    uri = os.environ.get("SEAM_MODEL_URI", "")
    version = os.environ.get("SEAM_MODEL_VERSION", "unknown")
    host = os.environ.get("SEAM_SERVE_HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    if not uri:
        print("SEAM_MODEL_URI is not set", file=sys.stderr)
        sys.exit(2)
    with tempfile.TemporaryDirectory(prefix="churn-model-") as tmp:
        try:
            model = LoadedModel(fetch_model(uri, Path(tmp)), version)
        except Exception as exc:
            print(f"cannot load model from {uri}: {type(exc).__name__}: {exc}", file=sys.stderr)
            sys.exit(1)
        server = build_server(model, host, port)

        def _stop(signum: int, _frame: Any) -> None:
            # shutdown() waits for serve_forever() to return, so it cannot run on the serving thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        print(
            f"serving model {version} ({len(model.features)} features) on {host}:{server.server_address[1]}",
            file=sys.stderr,
            flush=True,
        )
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()


if __name__ == "__main__":
    main()
