"""The churn example: SageMaker training contract, serving contract, and its Seam config."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from seam.models.model_config import ModelConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "churn"
IMAGE = EXAMPLE / "image"
DATA = EXAMPLE / "data"
if str(IMAGE) not in sys.path:
    sys.path.insert(0, str(IMAGE))

from churn_model import serve, train  # noqa: E402

AUC = re.compile(r"validation:auc=([0-9\.]+)")
HYPERPARAMETERS = {"C": "1.0", "max_iter": "500", "validation_fraction": "0.2", "seed": "42"}


def sm_tree(base: Path, dataset: str, hyperparameters: dict[str, str] | None = None) -> Path:
    """A SageMaker /opt/ml tree in `base` with one CSV in the train channel."""
    channel = base / "input" / "data" / "train"
    channel.mkdir(parents=True)
    shutil.copy(DATA / dataset, channel / "train.csv")
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters or HYPERPARAMETERS))
    return base


def run_in_process(base: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = train.run(base)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    base = sm_tree(tmp_path_factory.mktemp("good"), "good.csv")
    code, stdout = run_in_process(base)
    return base, code, stdout


def test_train_on_good_data(good_run):
    base, code, stdout = good_run
    assert code == 0, (
        (base / "output" / "failure").read_text() if (base / "output" / "failure").exists() else ""
    )
    assert (base / "model" / "model.joblib").is_file()
    metadata = json.loads((base / "model" / "metadata.json").read_text())
    assert metadata["label"] == "churned" and len(metadata["features"]) == 6
    assert re.search(r"^validation:accuracy=[0-9\.]+$", stdout, re.M)
    auc = float(AUC.search(stdout).group(1))
    assert auc > 0.8
    assert metadata["metrics"]["validation:auc"] == auc
    assert not (base / "output" / "failure").exists()


def test_training_is_deterministic(good_run, tmp_path):
    _, _, first = good_run
    code, second = run_in_process(sm_tree(tmp_path, "good.csv"))
    assert code == 0 and second == first


def test_worse_data_scores_clearly_lower(good_run, tmp_path):
    good_auc = float(AUC.search(good_run[2]).group(1))
    code, stdout = run_in_process(sm_tree(tmp_path, "worse.csv"))
    assert code == 0
    worse_auc = float(AUC.search(stdout).group(1))
    assert worse_auc < 0.7 < good_auc  # below the example's floor, so the challenger is rejected
    assert good_auc - worse_auc > 0.15


def test_corrupt_data_fails_the_job_with_a_reason(tmp_path):
    base = sm_tree(tmp_path, "corrupt.csv")
    env = {**os.environ, "SM_BASE_DIR": str(base), "PYTHONPATH": str(IMAGE)}
    proc = subprocess.run(
        [sys.executable, "-m", "churn_model", "train"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    failure = (base / "output" / "failure").read_text()
    assert "churned" in failure and len(failure) <= 1024
    assert not (base / "model" / "model.joblib").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("a,b,churned\n" + "1,2,0\n" * 60 + "1,x,1\n", "not a number"),
        ("a,b,churned\n" + "1,2,0\n" * 60 + "1,2\n", "fields, expected 3"),
        ("a,b,churned\n" + "1,2,0\n" * 60, "single class"),
        ("a,b,churned\n" + "1,2,0\n1,2,1\n", "need at least"),
        ("a,b,churned\n" + "1,2,0\n" * 30 + "1,2,3\n" * 30, "must be 0 or 1"),
    ],
)
def test_bad_inputs_write_the_failure_file(tmp_path, content, reason):
    channel = tmp_path / "input" / "data" / "train"
    channel.mkdir(parents=True)
    (channel / "part.csv").write_text(content)
    code, _ = run_in_process(tmp_path)
    assert code == 1
    assert reason in (tmp_path / "output" / "failure").read_text()


def test_bad_hyperparameter_fails(tmp_path):
    base = sm_tree(tmp_path, "good.csv", {**HYPERPARAMETERS, "C": "-1"})
    code, _ = run_in_process(base)
    assert code == 1 and "C must be" in (base / "output" / "failure").read_text()


def test_datasets_are_small_and_share_a_schema():
    headers = set()
    for name in ("good.csv", "worse.csv"):
        path = DATA / name
        assert path.stat().st_size < 200_000
        with path.open() as handle:
            rows = list(csv.reader(handle))
        headers.add(tuple(rows[0]))
        assert len(rows) - 1 >= 1500
    assert len(headers) == 1 and "churned" in next(iter(headers))
    assert (DATA / "corrupt.csv").stat().st_size < 200_000


# --- serving -------------------------------------------------------------------------------------------


def model_tarball(model_dir: Path, dest: Path) -> Path:
    """model.tar.gz as SageMaker packs /opt/ml/model: the folder's files at the archive root."""
    with tarfile.open(dest, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def server(good_run, tmp_path):
    archive = model_tarball(good_run[0] / "model", tmp_path / "model.tar.gz")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(IMAGE),
        "PORT": str(port),
        "SEAM_SERVE_HOST": "127.0.0.1",
        "SEAM_MODEL_URI": archive.as_uri(),
        "SEAM_MODEL_VERSION": "churn-v7",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "churn_model", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            try:
                if http("GET", url + "/ping")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /ping within 20 s")
            time.sleep(0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()


def test_serve_ping_and_invocations(server):
    url, proc = server
    assert http("GET", url + "/ping") == (200, {"status": "ok", "model_version": "churn-v7"})
    loyal = {
        "tenure_months": 70,
        "monthly_charges": 30.0,
        "support_calls": 0,
        "usage_gb": 60.0,
        "contract_months": 24,
        "days_since_last_login": 1,
    }
    leaving = {
        **loyal,
        "tenure_months": 2,
        "monthly_charges": 120.0,
        "support_calls": 6,
        "usage_gb": 1.5,
        "contract_months": 1,
        "days_since_last_login": 55,
    }
    status, body = http("POST", url + "/invocations", {"instances": [loyal, leaving]})
    assert status == 200
    assert body["model_version"] == "churn-v7"
    low, high = body["predictions"]
    assert 0.0 <= low < 0.5 < high <= 1.0

    status, body = http("POST", url + "/invocations", {"instances": [{"tenure_months": 3}]})
    assert status == 400 and "lacks feature" in body["error"]
    status, body = http("POST", url + "/invocations", {"instances": [{**loyal, "usage_gb": "many"}]})
    assert status == 400
    status, body = http("POST", url + "/invocations", {"rows": []})
    assert status == 400
    assert http("GET", url + "/nope")[0] == 404

    proc.send_signal(signal.SIGTERM)  # Kubernetes stops pods with SIGTERM: a clean exit
    assert proc.wait(timeout=5) == 0


def test_serve_exits_when_the_model_cannot_be_loaded(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(IMAGE),
        "PORT": str(free_port()),
        "SEAM_SERVE_HOST": "127.0.0.1",
        "SEAM_MODEL_URI": (tmp_path / "missing.tar.gz").as_uri(),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "churn_model", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1 and "cannot load model" in proc.stderr


def test_fetch_model_from_s3_and_file(good_run, tmp_path, monkeypatch):
    from moto import mock_aws

    archive = model_tarball(good_run[0] / "model", tmp_path / "model.tar.gz")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="seam-dev-data-123456789012")
        s3.upload_file(str(archive), "seam-dev-data-123456789012", "models/churn/run-1/output/model.tar.gz")
        work = tmp_path / "s3"
        work.mkdir()
        folder = serve.fetch_model(
            "s3://seam-dev-data-123456789012/models/churn/run-1/output/model.tar.gz", work
        )
    assert (folder / "model.joblib").is_file() and (folder / "metadata.json").is_file()
    model = serve.LoadedModel(folder, "v1")
    assert len(model.predict([dict.fromkeys(model.features, 1.0)])) == 1
    # file:// to a folder is used as is
    assert serve.fetch_model((good_run[0] / "model").as_uri(), tmp_path) == good_run[0] / "model"
    with pytest.raises(serve.ModelLoadError):
        serve.fetch_model("https://example.com/model.tar.gz", tmp_path)


def test_tarball_with_path_traversal_is_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="../escaped")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(tarfile.TarError):
        serve.fetch_model(evil.as_uri(), work)
    assert not (tmp_path / "escaped").exists()


# --- evaluation (the contract Seam's paired evaluation scores models by) --------------------------------


def validation_holdout(folder: Path) -> tuple[Path, list[int]]:
    """The rows train.py validated on (good.csv, the same seeded stratified split), written as a data
    channel in split order; returns the channel and the rows' labels."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    with (DATA / "good.csv").open() as handle:
        header, *records = list(csv.reader(handle))
    labels = [int(r[header.index("churned")]) for r in records]
    _, validation = train_test_split(
        np.arange(len(records)), test_size=0.2, random_state=42, stratify=labels
    )  # train.py: train_test_split(x, y, test_size=validation_fraction, random_state=seed, stratify=y)
    folder.mkdir(parents=True)
    with (folder / "part-0.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(records[i] for i in validation)
    return folder, [labels[i] for i in validation]


def evaluate_cli(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SM_BASE_DIR": str(base), "PYTHONPATH": str(IMAGE)}
    return subprocess.run(
        [sys.executable, "-m", "churn_model", "evaluate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_evaluate_writes_predictions_seam_parses_with_the_training_auc(good_run, tmp_path):
    from seam.domain.metrics import METRICS
    from seam.models.predictions import Predictions, positional_ids

    base, _, stdout = good_run
    holdout, labels = validation_holdout(tmp_path / "holdout")
    (tmp_path / "artifact").mkdir()
    archive = model_tarball(base / "model", tmp_path / "artifact" / "model.tar.gz")
    output = tmp_path / "out" / "predictions.csv"
    proc = evaluate_cli(tmp_path, "--model", str(archive), "--data", str(holdout), "--output", str(output))
    assert proc.returncode == 0, proc.stderr
    assert f"evaluate: {len(labels)} rows" in proc.stdout

    predictions = Predictions.from_csv(output.read_bytes(), source="challenger predictions")
    assert predictions.row_ids == positional_ids(len(labels)) == positional_ids(400)
    assert predictions.labels == tuple(float(y) for y in labels)
    # Seam's AUC and accuracy on these rows are the training log's validation metrics (which train.py
    # rounds to 4 places), computed by Seam from the file instead of parsed from a log line.
    logged = {
        m.group(1): float(m.group(2)) for m in re.finditer(r"^(validation:\w+)=([0-9.]+)$", stdout, re.M)
    }
    auc = METRICS["auc"].value(predictions.labels, predictions.scores)
    accuracy = METRICS["accuracy"].value(predictions.labels, predictions.scores)
    assert round(auc, 4) == logged["validation:auc"]
    assert round(accuracy, 4) == logged["validation:accuracy"]
    assert not (tmp_path / "output").exists()  # no failure reason on success


def test_evaluate_takes_the_model_as_a_folder_or_a_folder_holding_the_tarball(good_run, tmp_path):
    from churn_model import evaluate

    base = good_run[0]
    holdout, _ = validation_holdout(tmp_path / "holdout")
    (tmp_path / "channel").mkdir()
    model_tarball(base / "model", tmp_path / "channel" / "model.tar.gz")
    outputs = []
    for model in (base / "model", tmp_path / "channel"):
        output = tmp_path / f"{model.name}.csv"
        assert (
            evaluate.run(["--model", str(model), "--data", str(holdout), "--output", str(output)], tmp_path)
            == 0
        )
        outputs.append(output.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].startswith(b"row_id,label,score\n0,")


def test_evaluate_defaults_to_the_processing_layout(good_run, tmp_path):
    from churn_model import evaluate

    processing = tmp_path / "processing"
    (processing / "model").mkdir(parents=True)
    model_tarball(good_run[0] / "model", processing / "model" / "model.tar.gz")
    validation_holdout(processing / "holdout")
    assert evaluate.run([], tmp_path) == 0
    assert (processing / "evaluation" / "predictions.csv").read_text().count("\n") == 401


@pytest.mark.parametrize(
    ("case", "code", "reason"),
    [
        ("no data channel", 1, "ClientError: input channel 'data' is missing"),
        (
            "a feature column missing",
            1,
            "ClientError: the data lacks the model's feature column(s) ['usage_gb']",
        ),
        ("a label that is not 0/1", 1, "ClientError: part-0.csv line 3: churned must be 0 or 1, got 2"),
        ("no model", 1, "ClientError: no model at"),
        ("a broken model archive", 1, "ClientError: model.tar.gz is not a readable model archive"),
        ("an unknown argument", 2, "ClientError: bad arguments: unrecognized arguments: --fast"),
    ],
)
def test_evaluate_failures_write_the_reason_and_no_predictions(good_run, tmp_path, case, code, reason):
    from churn_model import evaluate

    model, data = good_run[0] / "model", tmp_path / "data"
    data.mkdir()
    header = (
        "tenure_months,monthly_charges,support_calls,usage_gb,contract_months,days_since_last_login,churned"
    )
    (data / "part-0.csv").write_text(header + "\n1,50,0,10,12,3,0\n2,60,1,5,1,40,1\n")
    args = []
    if case == "no data channel":
        data = tmp_path / "absent"
    elif case == "a feature column missing":
        (data / "part-0.csv").write_text(header.replace("usage_gb", "usage_tb") + "\n1,50,0,10,12,3,0\n")
    elif case == "a label that is not 0/1":
        (data / "part-0.csv").write_text(header + "\n1,50,0,10,12,3,0\n2,60,1,5,1,40,2\n")
    elif case == "no model":
        model = tmp_path / "empty"
        model.mkdir()
    elif case == "a broken model archive":
        model = tmp_path / "broken"
        model.mkdir()
        (model / "model.tar.gz").write_bytes(b"not a tarball")
    elif case == "an unknown argument":
        args = ["--fast"]
    output = tmp_path / "out" / "predictions.csv"
    assert (
        evaluate.run(["--model", str(model), "--data", str(data), "--output", str(output), *args], tmp_path)
        == code
    )
    for name in ("message", "failure"):  # Processing's ExitMessage, training's FailureReason
        written = (tmp_path / "output" / name).read_text()
        assert written.startswith(reason) and len(written) <= 1024
    assert not output.exists() and not output.with_name("predictions.csv.partial").exists()


def test_two_models_on_one_holdout_are_compared_by_what_they_do_not_by_their_logs(good_run, tmp_path):
    """The model trained on worse.csv (noisy labels) logs validation:auc 0.59 on its own noisy split,
    below the 0.7 floor; scored on the same clean holdout as the good model it is nearly as good. The
    log measured its data, not the model: what the paired evaluation exists for."""
    from churn_model import evaluate
    from seam.domain.paired_evaluation import decide_paired
    from seam.models.predictions import Predictions, positional_ids

    worse = sm_tree(tmp_path / "worse", "worse.csv")
    code, worse_log = run_in_process(worse)
    assert code == 0 and float(AUC.search(worse_log).group(1)) < 0.7
    holdout, labels = validation_holdout(tmp_path / "holdout")
    scored = {}
    for name, base in (("good", good_run[0]), ("worse", worse)):
        output = tmp_path / f"{name}.csv"
        assert (
            evaluate.run(
                ["--model", str(base / "model"), "--data", str(holdout), "--output", str(output)], tmp_path
            )
            == 0
        )
        scored[name] = Predictions.from_csv(output.read_text(), source=f"{name} predictions")
    config = ModelConfig.model_validate(yaml.safe_load((EXAMPLE / "model.yaml").read_text()))
    ids = positional_ids(len(labels))
    kwargs = {"seed": "seam-churn-0123456789ab", "confidence": 0.95}
    result = decide_paired(config.evaluation, scored["good"], scored["worse"], ids, **kwargs)
    assert result.champion > 0.85  # the "worse" model, on clean rows
    # The good model is ahead by more than min_improvement (0.005), but 400 rows cannot tell the two
    # apart at 95%: the interval's lower bound is below zero, and the gate keeps the champion.
    assert result.improvement > config.evaluation.min_improvement > 0 > result.improvement_lower
    assert (result.decision, result.decided_on) == ("reject", "interval lower bound")
    assert result == decide_paired(config.evaluation, scored["good"], scored["worse"], ids, **kwargs)


def test_the_cli_names_its_commands(tmp_path):
    proc = evaluate_cli(tmp_path, "--model")  # a flag without its value: bad arguments
    assert proc.returncode == 2 and "bad arguments" in proc.stderr
    env = {**os.environ, "PYTHONPATH": str(IMAGE)}
    proc = subprocess.run(
        [sys.executable, "-m", "churn_model"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "train|serve|evaluate" in proc.stderr


# --- Seam config ---------------------------------------------------------------------------------------


def test_model_yaml_validates_and_matches_the_image(good_run):
    config = ModelConfig.model_validate(yaml.safe_load((EXAMPLE / "model.yaml").read_text()))
    assert config.name == "churn" and config.team == "growth"
    assert config.evaluation.metric == "validation:auc" and config.evaluation.direction == "maximize"
    assert config.training.warm_pool_keep_alive_seconds == 900
    assert config.drift_alarms == ["churn-feature-drift"]
    assert config.serving is not None and config.serving.deployment == "churn-predictor"
    # The metric definitions read the lines train.py prints.
    stdout = good_run[2]
    for name, pattern in config.training.metric_definitions.items():
        match = re.search(pattern, stdout)
        assert match, name
        float(match.group(1))
    assert config.evaluation.metric in config.training.metric_definitions
    # The validation rules describe the dataset's columns.
    with (DATA / "good.csv").open() as handle:
        header = next(csv.reader(handle))
    assert [c.name for c in config.validation.columns] == header
    assert config.validation.label_column == "churned"
    assert set(config.training.hyperparameters) <= set(train.DEFAULT_HYPERPARAMETERS)
