"""Deployments: create with defaults, get, list with selectors, tables, replace, bookkeeping, delete,
and the errors (400, 404, 409, 422)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from seam_local.kubeapi import KubeApiServer

from tests.local.kubeapi.support import DEPLOYMENTS_ML, Http, assert_status, create, deployment


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
