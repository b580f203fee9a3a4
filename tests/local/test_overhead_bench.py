"""bench/overhead.py: its no-op model, the local Kubernetes API's instant rollouts, and a short bench run
checked for structure and consistency (no timed assertions)."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from seam_local.kubeapi import KubeApiServer, rollout_status

from bench import overhead

TOKEN = "static-test-token"


def test_noop_image_follows_the_training_contract(tmp_path: Path) -> None:
    channel = tmp_path / "input" / "data" / "train"
    channel.mkdir(parents=True)
    (channel / "drop.csv").write_bytes(overhead.dataset(7, rows=3))
    trained = _noop(tmp_path, "train")
    assert trained.returncode == 0, trained.stderr
    assert "validation:score=7.000000" in trained.stdout
    assert json.loads((tmp_path / "model" / "model.json").read_text())["validation:score"] == 7

    (channel / "drop.csv").write_text("feature\n1\n")  # no score column
    failed = _noop(tmp_path, "train")
    assert failed.returncode == 1
    assert (tmp_path / "output" / "failure").read_text().startswith("KeyError")


def _noop(base: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "noop_model", command],
        cwd=overhead.NOOP / "image",
        env={"SM_BASE_DIR": str(base), "PYTHONPATH": str(overhead.NOOP / "image")},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_instant_rollouts_are_complete_when_the_patch_returns() -> None:
    calls: list[str] = []
    # A step interval far longer than the test: only the pass that follows each write can finish rollouts.
    with KubeApiServer(
        tokens={TOKEN}, step_seconds=60, on_rollout=lambda *a: calls.append("hook"), instant_rollouts=True
    ) as kube:
        context = ssl.create_default_context(cadata=kube.ca_pem.decode())  # type: ignore[union-attr]
        path = "/apis/apps/v1/namespaces/default/deployments"
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "model"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "model"}},
                "template": {
                    "metadata": {"labels": {"app": "model"}},
                    "spec": {"containers": [{"name": "server", "image": "m:1"}]},
                },
            },
        }
        _request(kube, context, "POST", path, body, "application/json")
        assert rollout_status(kube.get_deployment("default", "model") or {}) == "complete"

        patch = {"spec": {"template": {"spec": {"containers": [{"name": "server", "image": "m:2"}]}}}}
        _request(kube, context, "PATCH", f"{path}/model", patch, "application/strategic-merge-patch+json")
        deployment = kube.get_deployment("default", "model") or {}
        assert rollout_status(deployment) == "complete"
        assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"] == 2
        assert (deployment["status"]["replicas"], deployment["status"]["availableReplicas"]) == (3, 3)
        assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert calls == []  # instant rollouts start nothing


def _request(
    kube: KubeApiServer, context: ssl.SSLContext, method: str, path: str, body: Any, kind: str
) -> None:
    request = urllib.request.Request(
        f"{kube.url}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": kind, "Accept": "application/json"},
    )
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    with opener.open(request, timeout=10) as response:
        assert response.status in (200, 201)


def test_billed_gb_seconds_rounds_up_to_the_millisecond() -> None:
    assert overhead.billed_gb_seconds(0.0101, 256) == pytest.approx(0.011 / 4)
    assert overhead.billed_gb_seconds(0.010, 1024) == pytest.approx(0.010)


def test_two_runs_go_all_the_way_and_are_priced_from_the_table() -> None:
    result = overhead.run(runs=2)

    assert result["runs"] == result["runs_succeeded"] == 2
    assert result["runs_not_deployed"] == []
    # Every run takes the happy path once: one Step Functions transition per state entered, no retries.
    assert result["states_entered"] == list(overhead.HAPPY_PATH)
    assert result["transitions_per_run"] == len(overhead.HAPPY_PATH) == 15
    assert result["rollout_wait_seconds"] == 0 and result["rollout_checks_per_run"] == 1
    # The trigger, one invocation per Lambda task state (7), and at least one training callback.
    by_function = result["lambda_invocations_by_function"]
    assert by_function["seam-local-trigger"] == 1
    assert by_function["seam-local-training-callback"] >= 1
    for function in ("validate", "launch-training", "evaluate", "register", "deploy", "check-rollout"):
        assert by_function[f"seam-local-{function}"] == 1
    assert by_function["seam-local-finalize"] == 1
    assert result["lambda_invocations_per_run"] == sum(by_function.values()) >= 9

    per_state = result["overhead_per_state_s"]
    assert {"trigger", "between_states", *overhead.HAPPY_PATH} == set(per_state)
    assert all(value >= 0 for value in per_state.values())
    assert per_state["trigger"] == result["trigger_latency_median_s"] > 0
    assert 0 < result["training_median_s"] < per_state["LaunchTraining"] < result["overhead_median_s"]
    assert result["overhead_median_s"] <= result["overhead_max_s"]

    prices = overhead.prices()
    breakdown = result["cost_breakdown_usd"]  # four significant digits
    assert breakdown["step_functions"] == pytest.approx(
        15 * prices["step_functions_standard_per_transition_usd"], rel=1e-3
    )
    assert breakdown["lambda_requests"] == pytest.approx(
        result["lambda_invocations_per_run"] * prices["lambda_per_request_usd"], rel=1e-3
    )
    assert breakdown["lambda_compute"] == pytest.approx(
        result["lambda_gb_seconds_per_run"] * prices["lambda_arm64_per_gb_second_usd"], rel=1e-3
    )
    assert result["lambda_gb_seconds_per_run"] > 0
    assert result["cost_per_run_usd"] == pytest.approx(sum(breakdown.values()), rel=1e-3)
    assert result["cost_per_run_usd"] > 0
    assert result["prices_as_of"] == prices["as_of"]


def test_noop_image_writes_both_models_predictions_for_paired_evaluation(tmp_path: Path) -> None:
    """With a holdout channel (and a champion's model.tar.gz), the no-op model writes the per-row
    predictions Seam scores: a model of quality q predicts feature + 1/q, so the better one has the
    lower MAE on the same rows."""
    import io
    import tarfile

    from seam.models.predictions import Predictions

    data = tmp_path / "input" / "data"
    for channel, number in (("train", 4), ("holdout", 4)):
        (data / channel).mkdir(parents=True)
        (data / channel / "drop.csv").write_bytes(overhead.dataset(number, rows=5))
    (data / "champion").mkdir()
    champion = json.dumps({"kind": "noop", "validation:score": 2.0}).encode()
    with tarfile.open(data / "champion" / "model.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("model.json")
        info.size = len(champion)
        archive.addfile(info, io.BytesIO(champion))

    trained = _noop(tmp_path, "train")
    assert trained.returncode == 0, trained.stderr
    assert "validation:mae=0.250000" in trained.stdout
    files = {
        name: Predictions.from_csv((tmp_path / "output" / "data" / f"{name}.csv").read_bytes())
        for name in ("challenger", "champion")
    }
    for name, quality in (("challenger", 4.0), ("champion", 2.0)):
        predictions = files[name]
        assert predictions.row_ids == ("0", "1", "2", "3", "4")
        assert predictions.labels == (0.0, 1.0, 2.0, 3.0, 4.0)  # the `feature` column
        assert predictions.scores == tuple(f + 1 / quality for f in predictions.labels)


def test_paired_runs_go_all_the_way_through_the_same_states_and_decide_on_the_interval() -> None:
    result = overhead.run(runs=1, paired=True)

    assert result["runs"] == result["runs_succeeded"] == 1
    assert result["states_entered"] == list(overhead.HAPPY_PATH)  # the same states: no extra transition
    assert result["transitions_per_run"] == 15
    assert result["paired_holdout_rows"] > 0
    assert result["overhead_per_state_s"]["Evaluate"] > 0
