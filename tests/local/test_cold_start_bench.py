"""bench/cold_start.py: every handler imports in Lambda's environment, with no boto3 and no asyncio
unless it needs them, and a one-round bench run has the figures `make bench` prints (no timed assertions)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import cold_start

# The handlers whose dependencies need asyncio: Powertools' batch utility (SQS consumers) and
# lightkube (the three that talk to Kubernetes).
NEEDS_ASYNCIO = {"trigger", "training_callback", "deploy", "check_rollout", "rollback"}


@pytest.mark.parametrize("function", cold_start.FUNCTIONS)
def test_each_handler_imports_in_lambdas_environment_without_boto3(function: str) -> None:
    probe = "import app, sys; print(sorted({'boto3', 's3transfer', 'asyncio'} & set(sys.modules)))"
    directory = cold_start.ROOT / "functions" / function
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=directory,
        env=cold_start.lambda_environment(directory),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    expected = ["asyncio"] if function in NEEDS_ASYNCIO else []
    assert out.stdout.strip().splitlines()[-1] == str(expected)


def test_a_one_round_bench_reports_every_handler_and_the_floors_steps() -> None:
    result = cold_start.run(repeats=1)

    assert set(result["cold_start_ratio"]) == set(cold_start.FUNCTIONS)
    assert result["cold_start_ratio_max"] == max(result["cold_start_ratio"].values())
    assert list(result["cold_start_floor_steps"]) == ["botocore", "+ pydantic", "+ Powertools"]
    assert result["cold_start_floor_ratio"] == result["cold_start_floor_steps"]["+ Powertools"]
    assert all(ratio > 0 for ratio in result["cold_start_ratio"].values())
