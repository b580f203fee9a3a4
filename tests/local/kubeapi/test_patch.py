"""PATCH in its four content types over HTTP, and the patch functions against the RFCs' examples."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from seam_local.kubeapi.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

from tests.local.kubeapi.support import DEPLOYMENTS_ML, Http, assert_status, create, deployment


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
