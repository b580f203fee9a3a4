"""`seam local up` as a user runs it: a subprocess on a free port, driven with boto3 alone through the
endpoint and names it writes to .seam/local/env; SIGTERM stops it cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
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
import yaml
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


@contextlib.contextmanager
def seam_local_up(cwd: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`seam local up ARGS` in `cwd` until the env file is written; stopped if the test did not stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEAM_"))}
    process = subprocess.Popen(
        [str(SEAM), "local", "up", "--port", str(free_port()), *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    env_file = cwd / ".seam" / "local" / "env"
    try:
        poll(lambda: env_file.exists() or process.poll() is not None, 60, "seam local up wrote no env file")
        assert process.poll() is None, process.communicate()[0]
        yield process, env_file
    finally:
        if process.poll() is None:
            # SIGTERM: a clean stop, which stops the model servers it started (their own sessions:
            # a SIGKILL here would leave them running after the test).
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
def local_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    with seam_local_up(tmp_path) as started:
        yield started


def clients(env_file: Path) -> tuple[Callable[[str], Any], Any]:
    """A client factory for the emulator the env file names, and its runs table."""
    env = load_env_file(env_file)
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])

    return client, session.resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"]).Table(
        env["SEAM_RUNS_TABLE"]
    )


def test_local_up_runs_uploads_through_the_workflow_and_stops_on_sigterm(local_up: Any) -> None:
    process, env_file = local_up
    env = load_env_file(env_file)
    client, runs = clients(env_file)

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
    the_cli_reads_the_local_stack(env_file.parents[2], failed, deployed)

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


def the_cli_reads_the_local_stack(cwd: Path, failed: dict[str, Any], deployed: dict[str, Any]) -> None:
    """`seam` as a user runs it from another shell: piped, as JSON, and refusing a broken config (its
    Deployment looked up in the local cluster through the real EKS adapter)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEAM_"))}  # .seam/local/env

    def seam(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SEAM), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
        )

    listed = seam("runs")  # piped: plain columns
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if "FAILED" in line]  # `seam runs | grep FAILED`
    assert row.startswith(failed["run_id"] + " ") and row.endswith(" ".join(failed["cause"].split()))
    as_json = json.loads(seam("runs", "--output", "json").stdout)
    assert {r["run_id"]: r["status"] for r in as_json} == {
        failed["run_id"]: "FAILED",
        deployed["run_id"]: "DEPLOYED",
    }
    assert json.loads(seam("models", "show", "churn", "-o", "json").stdout)["champion"]["version"] == "000001"

    cost = json.loads(seam("cost", "--output", "json").stdout)  # against the local stack
    costs = {row["run_id"]: row["cost"] for row in cost["runs"]}
    assert set(costs) == {failed["run_id"], deployed["run_id"]}
    assert costs[deployed["run_id"]]["parts"]["training"]["quantity"] > 0
    assert "training" not in costs[failed["run_id"]]["parts"]  # it never trained: the workflow's cost only
    assert all(c["total_usd"] > 0 for c in costs.values()) and cost["runs_cost_unknown"] == []
    links = json.loads(seam("runs", "show", deployed["run_id"], "-o", "json").stdout)["links"]
    state_dir = cwd / ".seam" / "local"
    assert links["lambda_logs"] == f"grep {deployed['run_id']} {state_dir / 'lambda.log'}"
    assert deployed["run_id"] in (state_dir / "lambda.log").read_text()
    assert "validation:auc" in Path(links["training_logs"]).read_text()  # the job's own log

    config = (REPO_ROOT / "examples" / "churn" / "model.yaml").read_text()
    broken = cwd / "broken.yaml"
    broken.write_text(config.replace("deployment: churn-predictor", "deployment: churn-server"))
    refused = seam("models", "put", str(broken))
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: serving: deployment/container ml-serving/churn-server/model ")
    assert "HTTP 404" in refused.stderr and len(refused.stderr.splitlines()) == 1
    shown = json.loads(seam("models", "show", "churn", "-o", "json").stdout)
    assert shown["serving_target"]["deployment"] == "churn-predictor"  # the stored config is unchanged


def own_model(folder: Path, name: str) -> Path:
    """The churn example's config as a team's own model `name`, its image in ECR repository `name`."""
    data = yaml.safe_load((REPO_ROOT / "examples" / "churn" / "model.yaml").read_text())
    image = data["training"]["image"].replace("/churn@", f"/{name}@")
    data.update(name=name, data_prefix=f"datasets/{name}/", drift_alarms=[f"{name}-feature-drift"])
    data["training"]["image"] = image
    data["serving"]["deployment"] = f"{name}-predictor"
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_teams_own_model_runs_from_its_image_folder_and_one_without_a_folder_names_the_flag(
    tmp_path: Path,
) -> None:
    # The team's image lives outside the repository: a copy of the example's image folder.
    image = tmp_path / "fraud-image"
    shutil.copytree(
        REPO_ROOT / "examples" / "churn" / "image", image, ignore=shutil.ignore_patterns("__pycache__")
    )
    fraud, ghost = own_model(tmp_path, "fraud"), own_model(tmp_path, "ghost")
    args = ("--image-dir", f"fraud={image}", "--model", str(fraud), "--model", str(ghost))

    with seam_local_up(tmp_path, *args) as (process, env_file):
        client, runs = clients(env_file)
        bucket = load_env_file(env_file)["SEAM_DATA_BUCKET"]
        for name in ("fraud", "ghost"):
            client("s3").upload_file(str(DATA / "good.csv"), bucket, f"datasets/{name}/good.csv")

        def ended(name: str) -> Callable[[], dict[str, Any] | None]:
            def check() -> dict[str, Any] | None:
                for item in runs.scan(ConsistentRead=True)["Items"]:
                    if item["model"] == name and item["status"] in ("DEPLOYED", "FAILED", "REJECTED"):
                        return item
                return None

            return check

        deployed = poll(ended("fraud"), 90, "the fraud run did not end")
        failed = poll(ended("ghost"), 60, "the ghost run did not end")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)

    assert deployed["status"] == "DEPLOYED", deployed.get("cause")
    assert deployed["model_version"] == "000001"
    assert "ml-serving/fraud-predictor" in output  # the local cluster ran the fraud image's server
    assert failed["status"] == "FAILED"
    assert "no local image folder for repository 'ghost'" in failed["cause"]
    assert "seam local up --image-dir ghost=PATH" in failed["cause"]


def test_the_aws_cli_approves_a_pending_version_and_the_local_deployment_changes(tmp_path: Path) -> None:
    """Item 8 of the approval flow, as a user runs it: a manual model's version waits for approval; the
    real AWS CLI approves it against the local endpoint (UpdateModelPackage emits SageMaker's state
    change there, as in AWS), the deploy run deploys it, and kubectl shows it in the local cluster."""
    config = yaml.safe_load((REPO_ROOT / "examples" / "churn" / "model.yaml").read_text())
    config["approval"] = "manual"
    manual = tmp_path / "manual.yaml"
    manual.write_text(yaml.safe_dump(config))

    with seam_local_up(tmp_path) as (_process, env_file):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEAM_"))}
        shell = {**env, **load_env_file(env_file)}  # `set -a; source .seam/local/env`

        def run(*args: str) -> str:
            done = subprocess.run(
                list(args), cwd=tmp_path, env=shell, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        run(str(SEAM), "models", "put", str(manual))
        client, runs = clients(env_file)
        client("s3").upload_file(str(DATA / "good.csv"), shell["SEAM_DATA_BUCKET"], "datasets/churn/good.csv")

        def with_status(trigger: str, status: str) -> Callable[[], dict[str, Any] | None]:
            def check() -> dict[str, Any] | None:
                items = runs.scan(ConsistentRead=True)["Items"]
                return next((i for i in items if i["trigger"] == trigger and i["status"] == status), None)

            return check

        registered = poll(with_status("data", "REGISTERED"), 60, "the retrain did not register a version")
        packages = json.loads(
            run("aws", "sagemaker", "list-model-packages", "--model-package-group-name", "seam-local-churn")
        )["ModelPackageSummaryList"]
        [package] = [p for p in packages if p["ModelApprovalStatus"] == "PendingManualApproval"]

        run(
            "aws", "sagemaker", "update-model-package",
            "--model-package-arn", package["ModelPackageArn"],
            "--model-approval-status", "Approved",
            "--approval-description", "checked the holdout by hand",
        )  # fmt: skip

        deployed = poll(with_status("approval", "DEPLOYED"), 60, "the approval did not deploy")
        assert deployed["model_version"] == registered["model_version"] == "000001"
        assert deployed["decision"]["note"] == "checked the holdout by hand"
        deployment = json.loads(
            run("kubectl", "get", "deployment", "churn-predictor", "-n", "ml-serving", "-o", "json")
        )
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert {e["name"]: e.get("value") for e in container["env"]}["SEAM_MODEL_VERSION"] == "000001"
        assert (
            deployment["spec"]["template"]["metadata"]["annotations"]["seam.dev/run-id"] == deployed["run_id"]
        )
        status = run("kubectl", "rollout", "status", "deployment/churn-predictor", "-n", "ml-serving")
        assert "successfully rolled out" in status
