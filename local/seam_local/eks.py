"""Local EKS: the local Kubernetes API as cluster `seam-local`, whose rollouts restart a serving process.

`start()` runs `KubeApiServer` on 127.0.0.1 and registers the cluster in the emulator (CreateCluster, then
`moto_hooks.set_cluster_endpoint`), so eks:DescribeCluster answers with the server's URL and CA and the
real `EksServing` adapter (STS-presigned token, TLS against that CA) patches Deployments there.

Every new revision of a Deployment calls `_on_rollout`: the pod template's container (image -> local
image folder, `command`/`args` over the Dockerfile's ENTRYPOINT/CMD, its `env`) starts as a process on a
free port of 127.0.0.1, with AWS_ENDPOINT_URL pointing at the emulator. Once `/ping` answers, it replaces
the previous process and the rollout proceeds; if it exits or stays silent, it is killed, the previous one
keeps serving and the rollout fails (ProgressDeadlineExceeded, so Seam rolls back). A template without
SEAM_MODEL_URI (the seeded placeholder) serves nothing.

`instant_rollouts=True` (bench/overhead.py): no serving process starts, and every rollout completes
before the patch's reply (the controller's `instant` mode), so the workflow's first rollout check finds
it done; the time measured is Seam's, not a cluster's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from seam.adapters.serving.eks_auth import eks_token, presign_get_caller_identity
from seam.models.serving_target import ServingTarget

from seam_local.console import Log, silent
from seam_local.images import ImageNotFound, ImageResolver
from seam_local.kubeapi import KubeApiServer, build_kubeconfig, write_kubeconfig
from seam_local.moto_hooks import set_cluster_endpoint
from seam_local.template import REPO_ROOT

RBAC_MANIFEST = REPO_ROOT / "manifests" / "seam-deployer-rbac.yaml"  # the deployer's grant in the cluster

PLACEHOLDER_IMAGE = (
    "registry.local/seam/placeholder:latest"  # what the Deployment runs before Seam's first deploy
)
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


@dataclass
class ServingProcess:
    process: subprocess.Popen[bytes]
    url: str
    version: str
    log_path: Path

    def stop(self, grace: float = 3.0) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=grace)


class LocalEks:
    def __init__(
        self,
        *,
        work_dir: Path,
        endpoint_url: str,
        cluster: str = "seam-local",
        account: str = "123456789012",
        region: str = "us-east-1",
        images: ImageResolver | None = None,
        step_seconds: float = 0.1,
        ping_timeout: float = 30.0,
        instant_rollouts: bool = False,
        log: Log = silent,
    ) -> None:
        self.work_dir, self.endpoint_url, self.cluster = Path(work_dir), endpoint_url, cluster
        self.account, self.region = account, region
        self.images = images or ImageResolver()
        self.ping_timeout, self.log = ping_timeout, log
        self.kube = KubeApiServer(
            "127.0.0.1",
            step_seconds=step_seconds,
            on_rollout=self._on_rollout,  # not called with instant rollouts (the controller's `instant`)
            instant_rollouts=instant_rollouts,
        )
        # What the cluster's RBAC grants Seam's deployer (group seam-deployer): the repository's manifest,
        # so `seam models put` (a LocalSubjectAccessReview) and `kubectl auth can-i` answer as they would
        # on EKS once it is applied. Everything else is the token holder's (a cluster administrator).
        self.kube.load_rbac(yaml.safe_load_all(RBAC_MANIFEST.read_text()))
        self._serving: dict[tuple[str, str], ServingProcess] = {}
        self._latest: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> LocalEks:
        self.kube.start()
        eks = boto3.client("eks", region_name=self.region)
        eks.create_cluster(
            name=self.cluster,
            roleArn=f"arn:aws:iam::{self.account}:role/seam-local-eks-cluster",
            resourcesVpcConfig={},
        )
        assert self.kube.ca_data
        set_cluster_endpoint(
            self.cluster, self.kube.url, self.kube.ca_data, account=self.account, region=self.region
        )
        self.log("runtime", f"EKS cluster {self.cluster}: Kubernetes API at {self.kube.url}")
        return self

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            serving, self._serving = list(self._serving.values()), {}
        for item in serving:
            item.stop()
        self.kube.stop()

    # -- cluster contents ---------------------------------------------------------------------------------

    def seed(self, target: ServingTarget, image: str = PLACEHOLDER_IMAGE) -> None:
        """The team's Deployment as it exists before Seam's first deploy (no model yet)."""
        if target.cluster != self.cluster:
            return
        with contextlib.suppress(Exception):  # already there
            self.kube.create_namespace(target.namespace)
        labels = {"app": target.deployment}
        self.kube.apply_deployment(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": target.deployment, "namespace": target.namespace, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": target.container,
                                    "image": image,
                                    "args": ["serve"],
                                    "ports": [{"containerPort": 8080}],
                                }
                            ]
                        },
                    },
                },
            },
            namespace=target.namespace,
        )

    def token(self) -> str:
        """An EKS bearer token, presigned against the emulator's STS like `aws eks get-token`."""
        return eks_token(
            presign_get_caller_identity(boto3.client("sts", region_name=self.region), self.cluster)
        )

    def write_kubeconfig(self, path: Path, namespace: str | None = None) -> Path:
        config = build_kubeconfig(
            self.kube.url, self.token(), ca_data=self.kube.ca_data, name=self.cluster, namespace=namespace
        )
        return write_kubeconfig(path, config)

    def serving(self, namespace: str, deployment: str) -> ServingProcess | None:
        with self._lock:
            return self._serving.get((namespace, deployment))

    # -- rollouts -----------------------------------------------------------------------------------------

    def _on_rollout(self, namespace: str, name: str, deployment: dict[str, Any]) -> bool:
        key, token = (namespace, name), object()
        with self._lock:
            self._latest[key] = token
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        container = next((c for c in containers if _env(c).get("SEAM_MODEL_URI")), None)
        if container is None:
            self._replace(key, token, None)
            self.log(
                "serving", f"{namespace}/{name}: no SEAM_MODEL_URI in the pod template, nothing to serve"
            )
            return True
        env = _env(container)
        version = env.get("SEAM_MODEL_VERSION", "unknown")
        try:
            image = self.images.resolve(container["image"])
        except ImageNotFound as exc:
            self.log("error", f"{namespace}/{name}: image {container['image']} cannot start: {exc}")
            return False
        port = free_port()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.work_dir / f"{name}-{version}-{port}.log"
        process_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.work_dir),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(image.folder),
            "PYTHONUNBUFFERED": "1",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": self.region,
            **env,
            "PORT": str(port),
            "SEAM_SERVE_HOST": "127.0.0.1",
        }
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                image.command(container.get("args"), container.get("command")),
                cwd=image.folder,
                env=process_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        serving = ServingProcess(process, f"http://127.0.0.1:{port}", version, log_path)
        self.log("serving", f"{namespace}/{name}: starting model {version} on {serving.url}")
        if not self._wait_ready(serving):
            serving.stop()
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            self.log("error", f"{namespace}/{name}: model {version} did not become ready: {tail[0]}")
            return False
        if not self._replace(key, token, serving):
            serving.stop()  # a newer revision started meanwhile; it decides what serves
            return True
        self.log("serving", f"{namespace}/{name}: model {version} serving at {serving.url}")
        return True

    def _replace(self, key: tuple[str, str], token: object, serving: ServingProcess | None) -> bool:
        with self._lock:
            if self._closed or self._latest.get(key) is not token:
                return False
            previous = self._serving.pop(key, None)
            if serving is not None:
                self._serving[key] = serving
        if previous is not None:
            previous.stop()
        return True

    def _wait_ready(self, serving: ServingProcess) -> bool:
        deadline = time.monotonic() + self.ping_timeout
        while time.monotonic() < deadline and not self._closed:
            if serving.process.poll() is not None:
                return False
            with contextlib.suppress(OSError), _DIRECT.open(f"{serving.url}/ping", timeout=1) as response:
                if response.status == 200:
                    return True
            time.sleep(0.05)
        return False


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "name" in e}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
