"""Cold start: a fresh interpreter importing each handler (min of N), divided by a fresh `import boto3`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").exists())
# What Lambda sets; the handler module is imported with its folder first on sys.path, as in Lambda.
LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "POWERTOOLS_SERVICE_NAME": "seam",
    "POWERTOOLS_METRICS_NAMESPACE": "Seam",
}


def _import_seconds(statement: str, cwd: Path) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **LAMBDA_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure(repeats: int = 10) -> dict[str, float]:
    """Interleaved runs (boto3, then each handler) so machine noise hits every figure alike."""
    samples: dict[str, list[float]] = {"boto3": [], **{f: [] for f in FUNCTIONS}}
    for _ in range(repeats):
        samples["boto3"].append(_import_seconds("import boto3", ROOT))
        for function in FUNCTIONS:
            samples[function].append(_import_seconds("import app", ROOT / "functions" / function))
    return {name: min(values) for name, values in samples.items()}


def run(repeats: int = 10) -> dict[str, object]:
    _import_seconds("import app", ROOT / "functions" / FUNCTIONS[0])  # warm the .pyc cache first
    started = time.perf_counter()
    seconds = measure(repeats)
    baseline = seconds.pop("boto3")
    ratios = {name: round(value / baseline, 3) for name, value in seconds.items()}
    return {
        "boto3_import_s": round(baseline, 4),
        "import_s": {k: round(v, 4) for k, v in seconds.items()},
        "cold_start_ratio": ratios,
        "cold_start_ratio_max": max(ratios.values()),
        "measured_in_s": round(time.perf_counter() - started, 1),
    }
