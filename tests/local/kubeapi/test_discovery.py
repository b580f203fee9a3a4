"""Discovery documents, the OpenAPI stub, unknown paths and the health endpoints."""

from __future__ import annotations

from seam_local.kubeapi import KubeApiServer

from tests.local.kubeapi.support import Http, assert_status


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
