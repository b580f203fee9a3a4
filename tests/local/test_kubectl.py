"""The real kubectl against the local Kubernetes API (seam_local.kubeapi), over HTTPS with an EKS-shaped
token from a kubeconfig written to tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from seam_local.kubeapi import KubeApiServer, make_eks_token

pytestmark = pytest.mark.slow

NAMESPACE = "serving"


def deployment(name: str, image: str = "registry.local/model:1", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "server", "image": image}]},
            },
        },
    }


@pytest.fixture(scope="module")
def kubectl_path() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not on PATH: run `make setup` (it installs Debian's kubectl)", pytrace=False)
    return path


class Kubectl:
    def __init__(self, binary: str, kubeconfig: Path, cache: Path) -> None:
        self.base = [binary, f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}"]
        self.env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        self.env.pop("KUBECONFIG", None)

    def command(self, *args: str) -> list[str]:
        return [*self.base, *args]

    def __call__(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=timeout, env=self.env, check=False
        )


@pytest.fixture
def hook_gate() -> Iterator[threading.Event]:
    """Rollouts of deployments named `gated` wait for this event (the on_rollout hook blocks on it)."""
    gate = threading.Event()
    yield gate
    gate.set()


@pytest.fixture
def kube(hook_gate: threading.Event) -> Iterator[KubeApiServer]:
    def on_rollout(namespace: str, name: str, obj: dict) -> bool:
        return hook_gate.wait(20) if name == "gated" else True

    server = KubeApiServer(step_seconds=0.05, fail_after_steps=4, on_rollout=on_rollout)
    server.create_namespace(NAMESPACE)
    with server:
        yield server


@pytest.fixture
def kubectl(kubectl_path: str, kube: KubeApiServer, tmp_path: Path) -> Kubectl:
    config = kube.write_kubeconfig(tmp_path / "kubeconfig", token=make_eks_token("seam-local"))
    return Kubectl(kubectl_path, config, tmp_path / "cache")


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
    return result


def test_get_deployments_all_namespaces_as_json(kube: KubeApiServer, kubectl: Kubectl) -> None:
    kube.apply_deployment(deployment("model-a"))
    result = kubectl("get", "deployments", "-A", "-o", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["kind"] == "List"
    (item,) = listed["items"]
    assert (item["kind"], item["apiVersion"]) == ("Deployment", "apps/v1")
    assert (item["metadata"]["namespace"], item["metadata"]["name"]) == (NAMESPACE, "model-a")
    assert item["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/model:1"


def test_get_deployments_prints_a_table(kube: KubeApiServer, kubectl: Kubectl) -> None:
    kube.apply_deployment(deployment("model-a", replicas=2))
    assert kube.wait_for_rollout(NAMESPACE, "model-a") == "complete"
    result = kubectl("get", "deployments", "-n", NAMESPACE)
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["model-a", "2/2", "2", "2"]

    empty = kubectl("get", "deployments", "-n", "default")
    assert empty.returncode == 0 and "No resources found in default namespace." in empty.stderr


def test_rollout_status_follows_a_good_rollout(
    kube: KubeApiServer, kubectl: Kubectl, hook_gate: threading.Event
) -> None:
    kube.apply_deployment(deployment("gated"))  # its rollout waits for hook_gate
    process = subprocess.Popen(
        kubectl.command("rollout", "status", "deployment/gated", "-n", NAMESPACE, "--timeout=20s"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl.env,
    )
    try:
        eventually(lambda: kube.watch_count > 0 or process.poll() is not None, what="kubectl to watch")
        hook_gate.set()
        stdout, stderr = process.communicate(timeout=25)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert 'Waiting for deployment "gated" rollout to finish' in stdout
    assert stdout.rstrip().endswith('deployment "gated" successfully rolled out')


def test_rollout_status_fails_for_a_crashloop(kube: KubeApiServer, kubectl: Kubectl) -> None:
    kube.apply_deployment(deployment("broken", image="registry.local/crashloop:1"))
    result = kubectl("rollout", "status", "deployment/broken", "-n", NAMESPACE, "--timeout=20s")
    assert result.returncode != 0
    assert 'deployment "broken" exceeded its progress deadline' in result.stderr


def test_apply_set_image_and_rollout_status(kube: KubeApiServer, kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "deployment.json"
    manifest.write_text(json.dumps(deployment("applied")))
    result = kubectl("apply", "-f", str(manifest))
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/applied created" in result.stdout

    result = kubectl("set", "image", "deployment/applied", "server=registry.local/model:2", "-n", NAMESPACE)
    assert result.returncode == 0, result.stderr
    result = kubectl("rollout", "status", "deployment/applied", "-n", NAMESPACE, "--timeout=20s")
    assert result.returncode == 0, result.stderr
    live = kube.get_deployment(NAMESPACE, "applied")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/model:2"
    assert live["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


def test_wrong_token_is_unauthorized(kubectl_path: str, kube: KubeApiServer, tmp_path: Path) -> None:
    config = kube.write_kubeconfig(tmp_path / "bad-kubeconfig", token="k8s-aws-v1.not-a-presigned-url")
    result = Kubectl(kubectl_path, config, tmp_path / "cache")("get", "deployments", "-A")
    assert result.returncode != 0
    assert "You must be logged in to the server" in result.stderr  # what kubectl says to a 401 from EKS


RBAC_MANIFEST = Path(__file__).resolve().parents[2] / "manifests" / "seam-deployer-rbac.yaml"


def test_auth_can_i_answers_from_the_deployer_rbac_manifest(kube: KubeApiServer, kubectl: Kubectl) -> None:
    """kubectl sends a protobuf SelfSubjectAccessReview (with Impersonate-* headers for --as)."""
    import yaml

    kube.load_rbac(yaml.safe_load_all(RBAC_MANIFEST.read_text()))
    kube.create_namespace("ml-serving")
    deployer = ["--as=arn:aws:sts::123456789012:assumed-role/deployer/s", "--as-group=seam-deployer"]

    def can_i(*args: str) -> tuple[int, str]:
        done = kubectl("auth", "can-i", *args)
        assert done.stderr == "", done.stderr
        return done.returncode, done.stdout.strip()

    assert can_i("patch", "deployments/churn-predictor", "-n", "ml-serving") == (0, "yes")  # the admin
    assert can_i("patch", "deployments/churn-predictor", "-n", "ml-serving", *deployer) == (0, "yes")
    assert can_i("get", "deployment/churn-predictor", "-n", "ml-serving", *deployer) == (0, "yes")
    assert can_i("patch", "deployments/other", "-n", "ml-serving", *deployer) == (1, "no")  # resourceNames
    assert can_i("delete", "deployments/churn-predictor", "-n", "ml-serving", *deployer) == (1, "no")
    assert can_i("patch", "deployments/churn-predictor", "-n", "default", *deployer) == (1, "no")
    assert can_i("patch", "deployments/churn-predictor", "-n", "ml-serving", "--as=x") == (1, "no")
