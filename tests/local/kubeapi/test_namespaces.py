"""Namespaces: create, get, list."""

from __future__ import annotations

from tests.local.kubeapi.support import Http, assert_status


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
