"""Cold start: a fresh interpreter importing each handler (min of N), divided by a fresh `import boto3`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").exists())
# The environment Lambda gives a python3.13 function with active tracing (the reserved variables that
# change what libraries do at import: the X-Ray SDK picks its Lambda sampler when LAMBDA_TASK_ROOT is
# set, instead of creating a centralized-sampling client), plus the template's Powertools settings.
LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "_HANDLER": "app.lambda_handler",
    "POWERTOOLS_SERVICE_NAME": "seam",
    "POWERTOOLS_METRICS_NAMESPACE": "Seam",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
}


def lambda_environment(cwd: Path) -> dict[str, str]:
    """The environment a handler in `cwd` is imported in: Lambda's, the layer first on the path."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        # The layer's code comes first on sys.path, as /opt/python does in Lambda.
        "PYTHONPATH": str(ROOT / "layers" / "seam"),
        "LAMBDA_TASK_ROOT": str(cwd),
        **LAMBDA_ENV,
    }


def _import_seconds(statement: str, cwd: Path) -> float:
    # Wall clock, as a cold start is felt. On this shared VM a figure moves by about ±0.3 between
    # runs of `make bench` even as a min of 10 (CPU time was no steadier), so compare within one run.
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=lambda_environment(cwd),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


# What every handler needs before any Seam code, step by step: botocore (Seam's clients are made
# without boto3), then pydantic with its first model built, then Powertools' Logger, Metrics and
# Tracer (the X-Ray SDK patching botocore). The last step is the floor: reported next to the handlers
# so the table shows how much of each figure is Seam's own, and what the floor itself is made of.
FLOOR_STEPS = {
    "botocore": "import botocore.session",
    "+ pydantic": "from pydantic import BaseModel; type('M', (BaseModel,), {'__annotations__': {'x': int}})",
    "+ Powertools": "from aws_lambda_powertools import Logger, Metrics, Tracer; "
    "Logger(); Metrics(); Tracer(patch_modules=('botocore',))",
}


def _floor_statements() -> dict[str, str]:
    steps, statement = {}, ""
    for name, code in FLOOR_STEPS.items():
        statement = f"{statement}; {code}" if statement else code
        steps[name] = statement
    return steps


def measure(repeats: int = 10) -> dict[str, float]:
    """Interleaved runs (boto3, the floor's steps, then each handler) so machine noise hits every
    figure alike."""
    floor = _floor_statements()
    samples: dict[str, list[float]] = {"boto3": [], **{s: [] for s in floor}, **{f: [] for f in FUNCTIONS}}
    for _ in range(repeats):
        samples["boto3"].append(_import_seconds("import boto3", ROOT))
        for step, statement in floor.items():
            samples[step].append(_import_seconds(statement, ROOT))
        for function in FUNCTIONS:
            samples[function].append(_import_seconds("import app", ROOT / "functions" / function))
    return {name: min(values) for name, values in samples.items()}


def run(repeats: int = 10) -> dict[str, object]:
    _import_seconds("import app", ROOT / "functions" / FUNCTIONS[0])  # warm the .pyc cache first
    started = time.perf_counter()
    seconds = measure(repeats)
    baseline = seconds.pop("boto3")
    steps = {step: round(seconds.pop(step) / baseline, 3) for step in FLOOR_STEPS}
    ratios = {name: round(value / baseline, 3) for name, value in seconds.items()}
    return {
        "boto3_import_s": round(baseline, 4),
        "import_s": {k: round(v, 4) for k, v in seconds.items()},
        "cold_start_ratio": ratios,
        "cold_start_ratio_max": max(ratios.values()),
        "cold_start_floor_ratio": steps[list(FLOOR_STEPS)[-1]],
        "cold_start_floor_steps": steps,
        "measured_in_s": round(time.perf_counter() - started, 1),
    }
