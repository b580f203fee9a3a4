"""The local Kubernetes API (seam_local.kubeapi): discovery, CRUD, patches, bookkeeping, errors, auth,
the rollout controller, watches, lifecycle, TLS, and the lightkube client against it."""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http import client as http_client
from typing import Any

import boto3
import pytest
import yaml
from cryptography import x509
from lightkube import ApiError as LightkubeApiError
from lightkube import Client, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.resources.apps_v1 import Deployment
from lightkube.types import PatchType
from seam_local.kubeapi import (
    REVISION_ANNOTATION,
    KubeApiServer,
    looks_like_eks_token,
    make_eks_token,
    rollout_status,
)
from seam_local.kubeapi.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from seam_local.kubeapi.resources import DEPLOYMENTS, NAMESPACES
from seam_local.kubeapi.store import Store

TOKEN = "static-test-token"
DEPLOYMENTS_ML = "/apis/apps/v1/namespaces/ml/deployments"


# ---------------------------------------------------------------- helpers


def deployment(
    name: str = "model",
    image: str = "registry.local/model:1",
    *,
    replicas: int | None = None,
    env: list[dict] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "server", "image": image}
    if env is not None:
        container["env"] = env
    template_meta: dict[str, Any] = {"labels": {"app": name}}
    if annotations:
        template_meta["annotations"] = annotations
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": template_meta, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"team": "ml"}},
        "spec": spec,
    }


def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class Http:
    """A tiny client: one connection per call, JSON in and out."""

    def __init__(self, server: KubeApiServer, token: str | None = TOKEN) -> None:
        self.server = server
        self.token = token
        self.context = ssl.create_default_context(cadata=server.ca_pem.decode()) if server.ca_pem else None

    def connection(self, timeout: float = 5.0) -> http_client.HTTPConnection:
        if self.context is not None:
            return http_client.HTTPSConnection(
                "127.0.0.1", self.server.port, context=self.context, timeout=timeout
            )
        return http_client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **(extra or {})}

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn = self.connection()
        try:
            conn.request(
                method,
                path,
                body=data,
                headers=self.headers({"Content-Type": content_type, **(headers or {})}),
            )
            response = conn.getresponse()
            raw = response.read()
            if response.getheader("Content-Type", "").startswith("application/json"):
                return response.status, json.loads(raw)
            return response.status, raw.decode()
        finally:
            conn.close()

    def watch(self, path: str) -> Iterator[dict[str, Any]]:
        """Yield the events of a watch stream until the server ends it."""
        conn = self.connection(timeout=10)
        try:
            conn.request("GET", path, headers=self.headers())
            response = conn.getresponse()
            assert response.status == 200, response.read()
            assert response.getheader("Transfer-Encoding") == "chunked"
            while line := response.readline():
                yield json.loads(line)
        finally:
            conn.close()


def create(http: Http, body: dict[str, Any], namespace: str = "ml") -> dict[str, Any]:
    status, created = http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body)
    assert status == 201, created
    return created


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), {})


def assert_status(body: Any, code: int, reason: str, message: str | None = None) -> None:
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert (body["code"], body["reason"]) == (code, reason), body
    if message is not None:
        assert body["message"] == message


@pytest.fixture
def kube() -> Iterator[KubeApiServer]:
    """A server with a fast rollout controller and a namespace `ml`."""
    server = KubeApiServer(tokens={TOKEN}, step_seconds=0.02, fail_after_steps=3)
    server.create_namespace("ml")
    with server:
        yield server


@pytest.fixture
def idle() -> Iterator[KubeApiServer]:
    """A server whose controller never steps, for exact resourceVersion/generation bookkeeping."""
    server = KubeApiServer(tokens={TOKEN}, step_seconds=3600)
    server.create_namespace("ml")
    with server:
        yield server


@pytest.fixture
def http(kube: KubeApiServer) -> Http:
    return Http(kube)


@pytest.fixture
def idle_http(idle: KubeApiServer) -> Http:
    return Http(idle)


# ---------------------------------------------------------------- discovery


def test_discovery_documents(http: Http) -> None:
    status, version = http("GET", "/version")
    assert status == 200 and version["major"] == "1" and version["gitVersion"].startswith("v1.")

    _, api = http("GET", "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]

    _, core = http("GET", "/api/v1")
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    namespaces = next(r for r in core["resources"] if r["name"] == "namespaces")
    assert namespaces["kind"] == "Namespace" and namespaces["namespaced"] is False
    assert {"get", "list", "create", "watch"} <= set(namespaces["verbs"])

    _, groups = http("GET", "/apis")
    assert groups["kind"] == "APIGroupList"
    assert groups["groups"][0]["name"] == "apps"
    assert groups["groups"][0]["preferredVersion"]["groupVersion"] == "apps/v1"

    _, apps = http("GET", "/apis/apps")
    assert apps["kind"] == "APIGroup" and apps["versions"] == [{"groupVersion": "apps/v1", "version": "v1"}]

    _, apps_v1 = http("GET", "/apis/apps/v1")
    resources = {r["name"]: r for r in apps_v1["resources"]}
    assert apps_v1["groupVersion"] == "apps/v1"
    assert set(resources) == {"deployments", "deployments/status"}
    assert resources["deployments"]["kind"] == "Deployment" and resources["deployments"]["namespaced"] is True
    assert resources["deployments"]["shortNames"] == ["deploy"]
    assert {"get", "list", "watch", "create", "update", "patch"} <= set(resources["deployments"]["verbs"])
    assert set(resources["deployments/status"]["verbs"]) == {"get", "patch", "update"}


def test_openapi_v3_stub_advertises_field_validation(http: Http) -> None:
    _, root = http("GET", "/openapi/v3")
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    _, doc = http("GET", url)
    (path,) = doc["paths"].values()
    assert path["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert "fieldValidation" in {p["name"] for p in path["patch"]["parameters"]}
    status, body = http("GET", "/openapi/v2")
    assert status == 404
    assert_status(body, 404, "NotFound")


def test_unknown_paths_are_404_status(http: Http) -> None:
    for path in (
        "/apis/batch/v1",
        "/api/v1/namespaces/ml/pods",
        "/apis/apps/v1/namespaces/ml/deployments/x/scale",
    ):
        status, body = http("GET", path)
        assert status == 404, path
        assert_status(body, 404, "NotFound")


def test_health_endpoints_need_no_token(kube: KubeApiServer) -> None:
    status, body = Http(kube, token=None)("GET", "/readyz")
    assert (status, body) == (200, "ok")


# ---------------------------------------------------------------- auth


def test_missing_or_wrong_token_is_401_status(kube: KubeApiServer) -> None:
    for token in (None, "wrong", "k8s-aws-v1.bm90LWEtdXJs"):
        status, body = Http(kube, token=token)("GET", "/apis/apps/v1/deployments")
        assert status == 401
        assert_status(body, 401, "Unauthorized", "Unauthorized")
    status, _ = Http(kube, token="Bearer")("GET", "/version")
    assert status == 401
    assert Http(kube)("GET", "/version")[0] == 200


def test_default_validator_accepts_eks_shaped_tokens() -> None:
    with KubeApiServer(step_seconds=1, tls=False) as server:
        assert Http(server, token=make_eks_token("cluster-a"))("GET", "/api")[0] == 200
        assert Http(server, token=TOKEN)("GET", "/api")[0] == 401


def test_validator_is_pluggable_and_optional() -> None:
    with KubeApiServer(tls=False, token_validator=lambda token: token.startswith("ok-")) as server:
        assert Http(server, token="ok-123")("GET", "/api")[0] == 200
        assert Http(server, token=make_eks_token())("GET", "/api")[0] == 401
    with KubeApiServer(tls=False, tokens={"only-this"}, token_validator=None) as server:
        assert Http(server, token="only-this")("GET", "/api")[0] == 200
        assert Http(server, token=make_eks_token())("GET", "/api")[0] == 401
        assert Http(server, token=None)("GET", "/api")[0] == 401
    with KubeApiServer(tls=False, tokens={"only-this"}, anonymous=True) as server:  # kubectl over plain HTTP
        assert Http(server, token=None)("GET", "/api")[0] == 200
        assert Http(server, token="wrong")("GET", "/api")[0] == 401


def _encode(url: str) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


SIGNED = (
    "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc123"
)


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        (_encode(SIGNED), True),
        (_encode(SIGNED.replace("Action=GetCallerIdentity", "Action=AssumeRole")), False),
        (_encode(SIGNED.replace("&X-Amz-Signature=abc123", "")), False),
        (_encode(SIGNED.replace("host%3Bx-k8s-aws-id", "host")), False),
        (_encode(SIGNED) + "==", False),  # padded
        ("k8s-aws-v2." + _encode(SIGNED).split(".", 1)[1], False),
        ("k8s-aws-v1.not base64!", False),
        (_encode("not a url"), False),
        ("", False),
    ],
)
def test_eks_token_format(token: str, valid: bool) -> None:
    assert looks_like_eks_token(token) is valid


def test_token_presigned_by_botocore_is_accepted() -> None:
    """Generated as aws-iam-authenticator / `aws eks get-token` do."""
    sts = boto3.session.Session().client(
        "sts",
        region_name="eu-west-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )

    def add_cluster_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = "seam-test"

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    assert looks_like_eks_token(_encode(url))
    assert looks_like_eks_token(make_eks_token())


# ---------------------------------------------------------------- namespaces


def test_namespaces_create_get_list(http: Http) -> None:
    status, created = http(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    )
    assert status == 201
    assert created["status"]["phase"] == "Active" and created["metadata"]["uid"]
    status, fetched = http("GET", "/api/v1/namespaces/team-a")
    assert status == 200 and fetched["metadata"]["uid"] == created["metadata"]["uid"]
    _, listed = http("GET", "/api/v1/namespaces")
    assert listed["kind"] == "NamespaceList"
    assert {"default", "kube-system", "ml", "team-a"} <= {n["metadata"]["name"] for n in listed["items"]}

    status, body = http("POST", "/api/v1/namespaces", {"metadata": {"name": "team-a"}})
    assert status == 409
    assert_status(body, 409, "AlreadyExists", 'namespaces "team-a" already exists')
    status, body = http("POST", "/api/v1/namespaces", {"metadata": {"name": "Not_Valid"}})
    assert status == 422
    assert_status(body, 422, "Invalid")
    status, body = http("GET", "/api/v1/namespaces/nope")
    assert_status(body, 404, "NotFound", 'namespaces "nope" not found')


# ---------------------------------------------------------------- deployments: CRUD


def test_create_fills_metadata_and_defaults(idle_http: Http) -> None:
    body = deployment()
    body["status"] = {"replicas": 99}
    created = create(idle_http, body)
    meta = created["metadata"]
    assert (created["kind"], created["apiVersion"]) == ("Deployment", "apps/v1")
    assert meta["namespace"] == "ml" and meta["generation"] == 1
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and int(meta["resourceVersion"]) > 0
    spec = created["spec"]
    assert (
        spec["replicas"] == 1
        and spec["progressDeadlineSeconds"] == 600
        and spec["revisionHistoryLimit"] == 10
    )
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert created["status"] == {}

    status, fetched = idle_http("GET", f"{DEPLOYMENTS_ML}/model")
    assert status == 200 and fetched == created


def test_get_missing_and_create_twice(http: Http) -> None:
    status, body = http("GET", f"{DEPLOYMENTS_ML}/nope")
    assert status == 404
    assert_status(body, 404, "NotFound", 'deployments.apps "nope" not found')
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}

    create(http, deployment())
    status, body = http("POST", DEPLOYMENTS_ML, deployment())
    assert status == 409
    assert_status(body, 409, "AlreadyExists", 'deployments.apps "model" already exists')

    status, body = http("POST", "/apis/apps/v1/namespaces/missing/deployments", deployment())
    assert_status(body, 404, "NotFound", 'namespaces "missing" not found')


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["spec"]["template"]["spec"].update(containers=[]), "spec.template.spec.containers"),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("image"),
            "spec.template.spec.containers[0].image",
        ),
        (lambda d: d["spec"].pop("selector"), "spec.selector"),
        (
            lambda d: d["spec"]["selector"].update(matchLabels={"app": "other"}),
            "spec.template.metadata.labels",
        ),
        (lambda d: d["metadata"].pop("name"), "metadata.name"),
        (lambda d: d["spec"].update(replicas=-1), "spec.replicas"),
    ],
)
def test_invalid_objects_are_422(http: Http, mutate: Callable[[dict], Any], field: str) -> None:
    body = deployment()
    mutate(body)
    status, error = http("POST", DEPLOYMENTS_ML, body)
    assert status == 422
    assert_status(error, 422, "Invalid")
    assert "is invalid" in error["message"]
    assert field in {c["field"] for c in error["details"]["causes"]}


def test_malformed_bodies_are_400(http: Http) -> None:
    status, body = http("POST", DEPLOYMENTS_ML, b"{not json")
    assert status == 400
    assert_status(body, 400, "BadRequest")
    wrong_kind = {**deployment(), "kind": "StatefulSet"}
    assert http("POST", DEPLOYMENTS_ML, wrong_kind)[0] == 400


def test_list_namespaced_cluster_wide_and_selectors(kube: KubeApiServer, http: Http) -> None:
    create(http, deployment("a"))
    create(http, deployment("b"))
    kube.apply_deployment(deployment("c"), namespace="other")

    _, listed = http("GET", DEPLOYMENTS_ML)
    assert listed["kind"] == "DeploymentList" and listed["apiVersion"] == "apps/v1"
    assert int(listed["metadata"]["resourceVersion"]) > 0
    assert [d["metadata"]["name"] for d in listed["items"]] == ["a", "b"]

    _, everything = http("GET", "/apis/apps/v1/deployments")
    assert {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in everything["items"]} == {
        ("ml", "a"),
        ("ml", "b"),
        ("other", "c"),
    }
    _, by_name = http("GET", "/apis/apps/v1/deployments?fieldSelector=metadata.name%3Db")
    assert [d["metadata"]["name"] for d in by_name["items"]] == ["b"]
    _, by_label = http("GET", f"{DEPLOYMENTS_ML}?labelSelector=team%3Dml,team+in+(ml,x)")
    assert len(by_label["items"]) == 2
    _, none = http("GET", f"{DEPLOYMENTS_ML}?labelSelector=!team")
    assert none["items"] == []


def test_server_side_table_for_kubectl(http: Http) -> None:
    create(http, deployment("a", replicas=2))
    status, table = http(
        "GET", DEPLOYMENTS_ML, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    )
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
    ]
    (row,) = table["rows"]
    assert row["cells"][0] == "a" and row["cells"][1].endswith("/2")
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["namespace"] == "ml"


def test_put_replaces_with_conflict_check(idle_http: Http) -> None:
    created = create(idle_http, deployment())
    rv = created["metadata"]["resourceVersion"]

    updated = json.loads(json.dumps(created))
    updated["spec"]["replicas"] = 3
    updated["status"] = {"replicas": 42}  # ignored on the main resource
    status, replaced = idle_http("PUT", f"{DEPLOYMENTS_ML}/model", updated)
    assert status == 200
    assert replaced["spec"]["replicas"] == 3 and replaced["status"] == {}
    assert int(replaced["metadata"]["resourceVersion"]) > int(rv)
    assert replaced["metadata"]["generation"] == 2
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]

    status, body = idle_http("PUT", f"{DEPLOYMENTS_ML}/model", updated)  # still carries the old version
    assert status == 409
    assert_status(
        body,
        409,
        "Conflict",
        'Operation cannot be fulfilled on deployments.apps "model": the object has been modified; '
        "please apply your changes to the latest version and try again",
    )

    del updated["metadata"]["resourceVersion"]  # unconditional update
    updated["spec"]["replicas"] = 4
    status, replaced = idle_http("PUT", f"{DEPLOYMENTS_ML}/model", updated)
    assert status == 200 and replaced["metadata"]["generation"] == 3

    status, body = idle_http("PUT", f"{DEPLOYMENTS_ML}/missing", {**updated, "metadata": {"name": "missing"}})
    assert_status(body, 404, "NotFound")
    selector_changed = json.loads(json.dumps(replaced))
    selector_changed["spec"]["selector"]["matchLabels"]["extra"] = "x"
    selector_changed["spec"]["template"]["metadata"]["labels"]["extra"] = "x"
    status, body = idle_http("PUT", f"{DEPLOYMENTS_ML}/model", selector_changed)
    assert status == 422 and "field is immutable" in body["message"]


def test_resource_version_and_generation_rules(idle_http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/model"
    created = create(idle_http, deployment())

    def versions(obj: dict) -> tuple[int, int]:
        return int(obj["metadata"]["resourceVersion"]), obj["metadata"]["generation"]

    rv, generation = versions(created)
    # metadata-only change: new resourceVersion, same generation
    _, obj = idle_http(
        "PATCH",
        path,
        {"metadata": {"labels": {"stage": "canary"}}},
        content_type="application/merge-patch+json",
    )
    assert versions(obj) == (rv + 1, generation)
    # status-only change through /status: new resourceVersion, same generation, spec untouched
    _, obj = idle_http(
        "PATCH",
        f"{path}/status",
        {"status": {"observedGeneration": 1}, "spec": {"replicas": 9}},
        content_type="application/merge-patch+json",
    )
    assert versions(obj) == (rv + 2, generation)
    assert obj["status"] == {"observedGeneration": 1} and obj["spec"]["replicas"] == 1
    # a patch that changes nothing: nothing new
    _, obj = idle_http(
        "PATCH",
        path,
        {"metadata": {"labels": {"stage": "canary"}}},
        content_type="application/merge-patch+json",
    )
    assert versions(obj) == (rv + 2, generation)
    # spec change: both move
    _, obj = idle_http("PATCH", path, {"spec": {"replicas": 2}}, content_type="application/merge-patch+json")
    assert versions(obj) == (rv + 3, generation + 1)
    # status through the main resource is ignored
    _, obj = idle_http(
        "PATCH", path, {"status": {"replicas": 7}}, content_type="application/merge-patch+json"
    )
    assert versions(obj) == (rv + 3, generation + 1) and obj["status"] == {"observedGeneration": 1}
    # PUT /status
    obj["status"] = {"observedGeneration": 2}
    status, obj = idle_http("PUT", f"{path}/status", obj)
    assert status == 200 and versions(obj) == (rv + 4, generation + 1)


def test_delete(http: Http) -> None:
    created = create(http, deployment())
    status, body = http("DELETE", f"{DEPLOYMENTS_ML}/model")
    assert status == 200
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["uid"] == created["metadata"]["uid"]
    assert http("GET", f"{DEPLOYMENTS_ML}/model")[0] == 404
    assert http("DELETE", f"{DEPLOYMENTS_ML}/model")[0] == 404


# ---------------------------------------------------------------- patches over HTTP


def test_strategic_merge_patch_merges_containers_and_env_by_name(idle_http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/model"
    create(idle_http, deployment(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]))
    patch = {
        "metadata": {"annotations": {"seam.dev/run": "r-1"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "server",
                            "image": "registry.local/model:2",
                            "env": [
                                {"name": "B", "value": "20"},
                                {"name": "C", "value": "3"},
                                {"name": "A", "$patch": "delete"},
                            ],
                        },
                        {"name": "sidecar", "image": "registry.local/proxy:1"},
                    ]
                }
            }
        },
    }
    status, obj = idle_http("PATCH", path, patch, content_type="application/strategic-merge-patch+json")
    assert status == 200, obj
    server, sidecar = obj["spec"]["template"]["spec"]["containers"]
    assert server["image"] == "registry.local/model:2"
    assert server["env"] == [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]
    assert server["terminationMessagePath"] == "/dev/termination-log"  # kept from the stored object
    assert sidecar["name"] == "sidecar" and sidecar["imagePullPolicy"] == "IfNotPresent"  # defaulted
    assert obj["metadata"]["annotations"] == {"seam.dev/run": "r-1"}
    assert obj["metadata"]["labels"] == {"team": "ml"}
    assert obj["metadata"]["generation"] == 2

    replace = {
        "spec": {
            "template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x:1"}]}}
        }
    }
    _, obj = idle_http("PATCH", path, replace, content_type="application/strategic-merge-patch+json")
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["only"]

    recreate = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    _, obj = idle_http("PATCH", path, recreate, content_type="application/strategic-merge-patch+json")
    assert obj["spec"]["strategy"] == {"type": "Recreate"}

    status, body = idle_http(
        "PATCH",
        path,
        {"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}},
        content_type="application/strategic-merge-patch+json",
    )
    assert status == 422
    assert_status(body, 422, "Invalid")


def test_merge_patch_replaces_lists_and_deletes_with_null(idle_http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/model"
    create(idle_http, deployment(env=[{"name": "A", "value": "1"}]))
    patch = {
        "metadata": {"labels": {"team": None, "tier": "gold"}},
        "spec": {
            "template": {"spec": {"containers": [{"name": "server", "image": "registry.local/model:3"}]}}
        },
    }
    status, obj = idle_http("PATCH", path, patch, content_type="application/merge-patch+json")
    assert status == 200
    assert obj["metadata"]["labels"] == {"tier": "gold"}
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.local/model:3" and "env" not in container  # the list was replaced

    status, body = idle_http("PATCH", path, [1, 2], content_type="application/merge-patch+json")
    assert status == 422
    assert_status(body, 422, "Invalid")


def test_json_patch_operations(idle_http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/model"
    created = create(idle_http, deployment())
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 2},
        {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "x"}},
        {"op": "copy", "from": "/metadata/annotations/a~1b", "path": "/metadata/labels/copied"},
        {"op": "move", "from": "/metadata/labels/team", "path": "/metadata/labels/owner"},
        {
            "op": "add",
            "path": "/spec/template/spec/containers/-",
            "value": {"name": "sidecar", "image": "proxy:1"},
        },
        {"op": "remove", "path": "/spec/template/spec/containers/0"},
    ]
    status, obj = idle_http("PATCH", path, ops, content_type="application/json-patch+json")
    assert status == 200, obj
    assert obj["spec"]["replicas"] == 2
    assert obj["metadata"]["annotations"] == {"a/b": "x"}
    assert obj["metadata"]["labels"] == {"copied": "x", "owner": "ml"}
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["sidecar"]

    for bad in (
        [{"op": "test", "path": "/spec/replicas", "value": 5}],
        [{"op": "remove", "path": "/spec/nope"}],
        [{"op": "launch", "path": "/spec"}],
        {"op": "add"},
    ):
        status, body = idle_http("PATCH", path, bad, content_type="application/json-patch+json")
        assert status == 422, bad
        assert_status(body, 422, "Invalid")
    status, body = idle_http("PATCH", path, b"not json", content_type="application/json-patch+json")
    assert status == 422
    stale = [
        {
            "op": "replace",
            "path": "/metadata/resourceVersion",
            "value": created["metadata"]["resourceVersion"],
        }
    ]
    status, body = idle_http("PATCH", path, stale, content_type="application/json-patch+json")
    assert status == 409
    assert_status(body, 409, "Conflict")
    status, body = idle_http("PATCH", path, {}, content_type="text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    status, body = idle_http(
        "PATCH", f"{DEPLOYMENTS_ML}/missing", {}, content_type="application/merge-patch+json"
    )
    assert status == 404


def test_apply_patch_creates_then_merges(idle_http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/applied?fieldManager=seam"
    body = yaml.safe_dump(
        {**deployment("applied"), "metadata": {"name": "applied", "namespace": "ml"}}
    ).encode()
    status, obj = idle_http("PATCH", path, body, content_type="application/apply-patch+yaml")
    assert status == 201 and obj["metadata"]["generation"] == 1
    again = deployment("applied", image="registry.local/model:2")
    status, obj = idle_http("PATCH", path, again, content_type="application/apply-patch+yaml")
    assert (
        status == 200
        and obj["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/model:2"
    )
    status, _ = idle_http(
        "PATCH", f"{DEPLOYMENTS_ML}/applied", again, content_type="application/apply-patch+yaml"
    )
    assert status == 422  # fieldManager is required


# ---------------------------------------------------------------- patch functions


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [  # RFC 7386 appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


def test_json_patch_rfc6902_examples() -> None:
    doc = {"foo": ["bar", "baz"], "baz": "qux"}
    assert json_patch(doc, [{"op": "add", "path": "/foo/1", "value": "x"}]) == {
        "foo": ["bar", "x", "baz"],
        "baz": "qux",
    }
    assert json_patch(doc, [{"op": "remove", "path": "/baz"}]) == {"foo": ["bar", "baz"]}
    assert json_patch(doc, [{"op": "move", "from": "/baz", "path": "/q"}]) == {
        "foo": ["bar", "baz"],
        "q": "qux",
    }
    assert json_patch({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}]) == {
        "a": {"b": 1},
        "c": {"b": 1},
    }
    assert json_patch(doc, [{"op": "replace", "path": "", "value": 1}]) == 1
    assert doc == {"foo": ["bar", "baz"], "baz": "qux"}  # inputs untouched
    for bad in (
        [{"op": "add", "path": "/foo/9", "value": 1}],
        [{"op": "add", "path": "/missing/x", "value": 1}],
        [{"op": "move", "from": "/foo", "path": "/foo/0"}],
        [{"op": "add", "path": "foo", "value": 1}],
        [{"op": "replace", "path": "/nope", "value": 1}],
        [{"op": "add", "path": "/foo/01", "value": 1}],
    ):
        with pytest.raises(PatchError):
            json_patch(doc, bad)


def test_strategic_merge_patch_directives() -> None:
    original = {
        "metadata": {"finalizers": ["a"]},
        "spec": {
            "containers": [{"name": "x", "ports": [{"containerPort": 80, "name": "http"}], "args": ["--a"]}],
            "volumes": [{"name": "v1", "emptyDir": {}}, {"name": "v2", "emptyDir": {}}],
        },
    }
    patch = {
        "metadata": {"finalizers": ["b", "a"]},
        "spec": {
            "containers": [{"name": "x", "ports": [{"containerPort": 80, "name": "web"}], "args": ["--b"]}],
            "$setElementOrder/volumes": [{"name": "v2"}, {"name": "v1"}],
            "$deleteFromPrimitiveList/ignored": ["z"],
            "volumes": [{"name": "v1", "$patch": "delete"}, {"name": "v3", "emptyDir": None}],
        },
    }
    result = strategic_merge_patch(original, patch)
    assert result["metadata"]["finalizers"] == ["a", "b"]  # merged as a set
    assert result["spec"]["containers"] == [
        {"name": "x", "ports": [{"containerPort": 80, "name": "web"}], "args": ["--b"]}
    ]
    assert result["spec"]["volumes"] == [{"name": "v2", "emptyDir": {}}, {"name": "v3"}]
    assert strategic_merge_patch({"spec": {"a": {"b": 1}}}, {"spec": {"a": {"$patch": "delete"}}}) == {
        "spec": {}
    }
    assert strategic_merge_patch(
        {"spec": {"a": {"b": 1, "c": 2}}}, {"spec": {"a": {"$patch": "replace", "d": 3}}}
    ) == {"spec": {"a": {"d": 3}}}
    with pytest.raises(PatchError):
        strategic_merge_patch(original, {"spec": {"$patch": "explode"}})
    with pytest.raises(PatchError):
        strategic_merge_patch(original, {"spec": {"containers": ["not-a-map"]}})


# ---------------------------------------------------------------- rollout controller


def test_rollout_reaches_complete_with_real_controller_status(kube: KubeApiServer, http: Http) -> None:
    create(http, deployment(replicas=3))
    assert kube.wait_for_rollout("ml", "model", timeout=5) == "complete"
    obj = kube.get_deployment("ml", "model")
    status = obj["status"]
    assert status["observedGeneration"] == obj["metadata"]["generation"] == 1
    assert (
        status["replicas"],
        status["updatedReplicas"],
        status["readyReplicas"],
        status["availableReplicas"],
    ) == (3, 3, 3, 3)
    assert "unavailableReplicas" not in status
    available, progressing = condition(obj, "Available"), condition(obj, "Progressing")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    assert progressing["message"].startswith('ReplicaSet "model-') and progressing["message"].endswith(
        '" has successfully progressed.'
    )
    assert {"lastUpdateTime", "lastTransitionTime"} <= set(progressing)
    assert obj["metadata"]["annotations"][REVISION_ANNOTATION] == "1"
    assert obj["metadata"]["generation"] == 1  # status and annotation writes leave generation alone


def test_rollout_progress_is_visible_through_a_watch(kube: KubeApiServer, http: Http) -> None:
    created = create(http, deployment(replicas=3))
    rv = created["metadata"]["resourceVersion"]
    seen: list[dict[str, Any]] = []
    for event in http.watch(
        f"{DEPLOYMENTS_ML}?watch=true&fieldSelector=metadata.name%3Dmodel&resourceVersion={rv}&timeoutSeconds=5"
    ):
        assert event["type"] == "MODIFIED"
        seen.append(event["object"])
        if rollout_status(event["object"]) == "complete":
            break
    assert seen and rollout_status(seen[-1]) == "complete"
    reasons = [condition(obj, "Progressing").get("reason") for obj in seen]
    assert "ReplicaSetUpdated" in reasons
    updated = [obj["status"].get("updatedReplicas", 0) for obj in seen]
    assert updated == sorted(updated) and updated[-1] == 3
    versions = [int(obj["metadata"]["resourceVersion"]) for obj in seen]
    assert versions == sorted(set(versions))
    for obj in seen:  # counts stay consistent at every step
        status = obj["status"]
        assert status.get("availableReplicas", 0) <= status.get("replicas", 0)
        assert status.get("unavailableReplicas", 0) == status.get("replicas", 0) - status.get(
            "availableReplicas", 0
        )


@pytest.mark.parametrize(
    "broken",
    [
        deployment(image="registry.local/crashloop:1"),
        deployment(annotations={"seam.dev/simulate": "crashloop"}),
    ],
    ids=["image", "annotation"],
)
def test_crashloop_exceeds_progress_deadline(kube: KubeApiServer, http: Http, broken: dict) -> None:
    create(http, broken)
    assert kube.wait_for_rollout("ml", "model", timeout=5) == "failed"
    obj = kube.get_deployment("ml", "model")
    progressing = condition(obj, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"].endswith("has timed out progressing.")
    available = condition(obj, "Available")
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert obj["status"]["updatedReplicas"] == 1 and "availableReplicas" not in obj["status"]
    assert obj["status"]["unavailableReplicas"] == 1


def test_restoring_a_good_template_rolls_out_again(kube: KubeApiServer, http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/model"
    create(http, deployment())
    assert kube.wait_for_rollout("ml", "model") == "complete"

    bad = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "server", "image": "registry.local/crashloop:2"}]}}
        }
    }
    http("PATCH", path, bad, content_type="application/strategic-merge-patch+json")
    assert kube.wait_for_rollout("ml", "model") == "failed"
    obj = kube.get_deployment("ml", "model")
    assert condition(obj, "Available")["status"] == "True"  # the old pod keeps serving
    assert (
        obj["status"]["replicas"],
        obj["status"]["updatedReplicas"],
        obj["status"]["availableReplicas"],
    ) == (2, 1, 1)
    assert obj["metadata"]["annotations"][REVISION_ANNOTATION] == "2"

    good = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "server", "image": "registry.local/model:1"}]}}
        }
    }
    http("PATCH", path, good, content_type="application/strategic-merge-patch+json")
    assert kube.wait_for_rollout("ml", "model") == "complete"
    obj = kube.get_deployment("ml", "model")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"] == 3
    assert (obj["status"]["replicas"], obj["status"]["availableReplicas"]) == (1, 1)
    assert condition(obj, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert obj["metadata"]["annotations"][REVISION_ANNOTATION] == "3"


def test_on_rollout_hook_decides_each_revision() -> None:
    calls: list[tuple[str, str, str]] = []
    verdicts = iter([True, False, RuntimeError("model server did not start"), True])

    def hook(namespace: str, name: str, obj: dict) -> bool:
        calls.append((namespace, name, obj["spec"]["template"]["spec"]["containers"][0]["image"]))
        verdict = next(verdicts)
        if isinstance(verdict, Exception):
            raise verdict
        return verdict

    with KubeApiServer(tokens={TOKEN}, step_seconds=0.02, fail_after_steps=3, on_rollout=hook) as kube:
        kube.apply_deployment(deployment(image="m:1"), namespace="ml")
        assert kube.wait_for_rollout("ml", "model") == "complete"
        kube.apply_deployment(deployment(image="m:2"), namespace="ml")
        assert kube.wait_for_rollout("ml", "model") == "failed"
        kube.apply_deployment(deployment(image="m:3"), namespace="ml")
        assert kube.wait_for_rollout("ml", "model") == "failed"
        kube.apply_deployment(deployment(image="m:1", replicas=1), namespace="ml")  # restore
        assert kube.wait_for_rollout("ml", "model") == "complete"
        scaled = kube.apply_deployment(
            deployment(image="m:1", replicas=2), namespace="ml"
        )  # scale only: no call
        assert scaled["metadata"]["generation"] == 5
        assert kube.wait_for_rollout("ml", "model") == "complete"
        assert kube.get_deployment("ml", "model")["status"]["availableReplicas"] == 2
    assert calls == [("ml", "model", f"m:{n}") for n in (1, 2, 3, 1)]


def test_rollout_waits_for_a_slow_hook() -> None:
    started, release = threading.Event(), threading.Event()

    def hook(namespace: str, name: str, obj: dict) -> bool:
        started.set()
        return release.wait(10)

    with KubeApiServer(tokens={TOKEN}, step_seconds=0.02, fail_after_steps=2, on_rollout=hook) as kube:
        kube.apply_deployment(deployment(), namespace="ml")
        eventually(started.is_set, what="the hook to be called")
        for _ in range(5):  # more steps than fail_after_steps (step() is safe next to the controller thread)
            kube.controller.step()
        obj = kube.get_deployment("ml", "model")
        assert obj["status"]["updatedReplicas"] == 1 and "availableReplicas" not in obj["status"]
        assert rollout_status(obj) == "progressing"
        assert condition(obj, "Progressing")["reason"] == "ReplicaSetUpdated"  # no deadline while pending
        release.set()
        assert kube.wait_for_rollout("ml", "model") == "complete"


# ---------------------------------------------------------------- watch


def test_watch_streams_changes_from_a_resource_version(kube: KubeApiServer, http: Http) -> None:
    _, listed = http("GET", f"{DEPLOYMENTS_ML}?fieldSelector=metadata.name%3Dwatched")
    rv = listed["metadata"]["resourceVersion"]
    events: list[dict] = []

    def consume() -> None:
        query = f"watch=true&fieldSelector=metadata.name%3Dwatched&resourceVersion={rv}&timeoutSeconds=5"
        url = f"{DEPLOYMENTS_ML}?{query}"
        for event in http.watch(url):
            events.append(event)
            if event["type"] == "DELETED":
                return

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    eventually(lambda: kube.watch_count == 1, what="the watch to open")
    create(http, deployment("other"))  # filtered out by the field selector
    create(http, deployment("watched"))
    kube.wait_for_rollout("ml", "watched")
    http("DELETE", f"{DEPLOYMENTS_ML}/watched")
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert {e["object"]["metadata"]["name"] for e in events} == {"watched"}
    assert (events[0]["type"], events[-1]["type"]) == ("ADDED", "DELETED")
    assert {e["type"] for e in events[1:-1]} == {"MODIFIED"}


def test_watch_without_resource_version_starts_with_current_objects(kube: KubeApiServer, http: Http) -> None:
    create(http, deployment("a"))
    start = time.monotonic()
    events = list(
        http.watch("/apis/apps/v1/deployments?watch=true&timeoutSeconds=0.3&fieldSelector=metadata.name%3Da")
    )
    assert 0.25 < time.monotonic() - start < 2  # timeoutSeconds is honoured
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "a"


def test_stop_closes_open_watches_promptly() -> None:
    server = KubeApiServer(tokens={TOKEN}, step_seconds=0.05).start()
    http = Http(server)
    ended = threading.Event()

    def consume() -> None:
        for _ in http.watch("/api/v1/namespaces?watch=true"):
            pass
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    eventually(lambda: server.watch_count == 1, what="the watch to open")
    idle = http.connection()  # an idle keep-alive connection must not hold stop() up either
    idle.request("GET", "/version", headers=http.headers())
    idle.getresponse().read()
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2
    assert ended.wait(2)
    idle.close()
    server.stop()  # idempotent


def test_too_old_resource_version_is_410() -> None:
    store = Store(history=3)
    store.create(NAMESPACES, "", {"metadata": {"name": "ml"}})
    for i in range(5):
        store.create(DEPLOYMENTS, "ml", deployment(f"d{i}"))
    with pytest.raises(Exception, match="too old resource version") as info:
        store.watch_start(DEPLOYMENTS, "1")
    assert info.value.code == 410


# ---------------------------------------------------------------- lifecycle, TLS, kubeconfig


def test_lifecycle_and_threads() -> None:
    with pytest.raises(ValueError, match="loopback"):
        KubeApiServer(host="0.0.0.0")
    server = KubeApiServer(tls=False, tokens={TOKEN})
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        assert server.ca_pem is None and server.ca_data is None
        assert Http(server)("GET", "/version")[0] == 200
        ours = [t for t in threading.enumerate() if t.name.startswith("kubeapi")]
        assert ours and all(t.daemon for t in ours)
    with pytest.raises(RuntimeError):
        server.start()


def test_tls_certificate_and_ca(kube: KubeApiServer) -> None:
    assert kube.url == f"https://127.0.0.1:{kube.port}"
    assert base64.b64decode(kube.ca_data) == kube.ca_pem
    assert kube.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    leaf = x509.load_pem_x509_certificate(kube.tls.cert_pem)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    context = ssl.create_default_context(cadata=kube.ca_pem.decode())
    conn = http_client.HTTPSConnection("localhost", kube.port, context=context, timeout=5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusted = http_client.HTTPSConnection(
            "127.0.0.1", kube.port, context=ssl.create_default_context(), timeout=5
        )
        untrusted.request("GET", "/healthz")


def test_write_kubeconfig(kube: KubeApiServer, tmp_path: Any) -> None:
    path = kube.write_kubeconfig(tmp_path / "kube" / "config", token="tok", name="seam-dev")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "seam-dev"
    (cluster,) = config["clusters"]
    assert cluster == {
        "name": "seam-dev",
        "cluster": {"server": kube.url, "certificate-authority-data": kube.ca_data},
    }
    assert config["users"] == [{"name": "seam-dev", "user": {"token": "tok"}}]
    assert config["contexts"] == [
        {"name": "seam-dev", "context": {"cluster": "seam-dev", "user": "seam-dev"}}
    ]
    loaded = KubeConfig.from_file(path).get()
    assert loaded.cluster.server == kube.url and loaded.user.token == "tok"


def test_seeding_helpers(kube: KubeApiServer) -> None:
    assert kube.get_deployment("new-ns", "model") is None
    first = kube.apply_deployment(deployment(), namespace="new-ns")  # creates the namespace
    assert first["metadata"]["namespace"] == "new-ns"
    again = kube.apply_deployment(
        {**deployment(), "metadata": {"name": "model", "resourceVersion": "1"}}, namespace="new-ns"
    )
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert [d["metadata"]["name"] for d in kube.list_deployments("new-ns")] == ["model"]
    assert kube.create_namespace("new-ns")["metadata"]["name"] == "new-ns"  # idempotent
    assert kube.delete_deployment("new-ns", "model") and not kube.delete_deployment("new-ns", "model")


# ---------------------------------------------------------------- lightkube


@pytest.fixture
def lightkube_client(kube: KubeApiServer) -> Iterator[Client]:
    config = KubeConfig.from_one(
        cluster=Cluster(server=kube.url, certificate_auth_data=kube.ca_data),
        user=User(token=TOKEN),
        namespace="ml",
    )
    with Client(config) as client:
        yield client


def test_lightkube_get_and_patch(kube: KubeApiServer, lightkube_client: Client) -> None:
    kube.apply_deployment(deployment(env=[{"name": "A", "value": "1"}]), namespace="ml")
    fetched = lightkube_client.get(Deployment, "model")
    assert (
        fetched.metadata.namespace == "ml"
        and fetched.spec.template.spec.containers[0].image == "registry.local/model:1"
    )

    smp = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "server",
                            "image": "registry.local/model:2",
                            "env": [{"name": "B", "value": "2"}],
                        }
                    ]
                }
            }
        }
    }
    patched = lightkube_client.patch(Deployment, "model", smp, patch_type=PatchType.STRATEGIC)
    (container,) = patched.spec.template.spec.containers
    assert container.image == "registry.local/model:2"
    assert [(e.name, e.value) for e in container.env] == [("A", "1"), ("B", "2")]

    patched = lightkube_client.patch(
        Deployment, "model", {"metadata": {"labels": {"seam.dev/run": "r1"}}}, patch_type=PatchType.MERGE
    )
    assert patched.metadata.labels == {"team": "ml", "seam.dev/run": "r1"}

    patched = lightkube_client.patch(
        Deployment,
        "model",
        [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        patch_type=PatchType.JSON,
    )
    assert patched.spec.replicas == 2 and patched.metadata.generation == 3

    done = lightkube_client.wait(Deployment, "model", for_conditions=["Available"], namespace="ml")
    assert done.status.observedGeneration is not None
    assert [d.metadata.name for d in lightkube_client.list(Deployment, namespace="*")] == ["model"]

    with pytest.raises(LightkubeApiError) as info:
        lightkube_client.get(Deployment, "missing")
    assert (info.value.status.code, info.value.status.reason) == (404, "NotFound")


def test_lightkube_create_and_apply(kube: KubeApiServer, lightkube_client: Client) -> None:
    created = lightkube_client.create(
        Deployment.from_dict({**deployment("created"), "metadata": {"name": "created"}})
    )
    assert created.metadata.uid and created.metadata.generation == 1
    applied = lightkube_client.apply(
        Deployment.from_dict({**deployment("applied"), "metadata": {"name": "applied"}}), field_manager="seam"
    )
    assert applied.metadata.generation == 1
    with pytest.raises(LightkubeApiError) as info:
        lightkube_client.create(
            Deployment.from_dict({**deployment("created"), "metadata": {"name": "created"}})
        )
    assert info.value.status.code == 409
