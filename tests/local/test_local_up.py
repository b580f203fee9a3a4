"""`seam local up` as a user runs it: a subprocess on a free port, driven with boto3 alone through the
endpoint and names it writes to .seam/local/env; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from seam_cli.context import load_env_file
from seam_local.eks import free_port
from seam_local.template import REPO_ROOT

SEAM = Path(sys.executable).parent / "seam"
DATA = REPO_ROOT / "examples" / "churn" / "data"


def poll(check: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(message)


@pytest.fixture
def local_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEAM_"))}
    process = subprocess.Popen(
        [str(SEAM), "local", "up", "--port", str(free_port())],
        cwd=tmp_path,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    env_file = tmp_path / ".seam" / "local" / "env"
    try:
        poll(lambda: env_file.exists() or process.poll() is not None, 60, "seam local up wrote no env file")
        assert process.poll() is None, process.communicate()[0]
        yield process, env_file
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_local_up_runs_uploads_through_the_workflow_and_stops_on_sigterm(local_up: Any) -> None:
    process, env_file = local_up
    env = load_env_file(env_file)
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])

    runs = session.resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"]).Table(env["SEAM_RUNS_TABLE"])

    def run_of(key: str, statuses: set[str]) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            for item in runs.scan(ConsistentRead=True)["Items"]:
                if item.get("dataset", {}).get("key") == key and item["status"] in statuses:
                    return item
            return None

        return check

    terminal = {"DEPLOYED", "REJECTED", "SKIPPED", "FAILED", "REGISTERED"}
    s3 = client("s3")
    s3.upload_file(str(DATA / "good.csv"), env["SEAM_DATA_BUCKET"], "datasets/churn/good.csv")
    deployed = poll(run_of("datasets/churn/good.csv", terminal), 60, "the good.csv run did not end")
    assert deployed["status"] == "DEPLOYED", deployed.get("cause")
    assert deployed["model_version"] == "000001"
    sfn = client("stepfunctions")
    executions = poll(
        lambda: [
            (e["name"], e["status"])
            for e in sfn.list_executions(stateMachineArn=env["SEAM_STATE_MACHINE_ARN"])["executions"]
            if e["status"] != "RUNNING"
        ],
        30,
        "the execution did not end",
    )
    assert executions == [(deployed["run_id"], "SUCCEEDED")]

    s3.upload_file(str(DATA / "corrupt.csv"), env["SEAM_DATA_BUCKET"], "datasets/churn/corrupt.csv")
    failed = poll(run_of("datasets/churn/corrupt.csv", terminal), 60, "the corrupt.csv run did not end")
    assert failed["status"] == "FAILED"
    assert failed["error"] == "DataValidationError"
    assert "columns:" in failed["cause"] and "lacks required column(s)" in failed["cause"]
    assert set(failed["timeline"]) == {"STARTED", "VALIDATING", "FAILED"}  # it never trained

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert time.monotonic() - started < 10
    assert "stopped" in output
    assert not env_file.exists()  # it named servers that are gone
    [serving] = re.findall(r"model 000001 serving at (http://127\.0\.0\.1:\d+)", output)
    with pytest.raises(OSError):  # the serving process went with it
        urllib.request.urlopen(f"{serving}/ping", timeout=2)
