"""Access reviews (seam_local.kubeapi.access): RBAC documents evaluated as the apiserver's RBAC
authorizer does, for SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectAccessReview (also
as the protobuf kubectl sends)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from seam_local.kubeapi import access, protobuf
from seam_local.kubeapi.errors import ApiError

from tests.local.test_kubectl import RBAC_MANIFEST

DEPLOY = {"namespace": "ml-serving", "verb": "patch", "group": "apps", "resource": "deployments"}


@pytest.fixture
def rbac() -> access.Rbac:
    loaded = access.Rbac()
    loaded.load(yaml.safe_load_all(RBAC_MANIFEST.read_text()))
    return loaded


def review(rbac: access.Rbac, path: list[str], spec: dict[str, Any], **headers: str) -> dict[str, Any]:
    return access.review(rbac, "POST", path, {"spec": spec}, headers)["status"]


def test_the_deployer_group_may_get_and_patch_exactly_its_deployment(rbac: access.Rbac) -> None:
    group = ["seam-deployer"]
    assert rbac.allows("u", group, {**DEPLOY, "name": "churn-predictor"}) == (
        True,
        'RBAC: allowed by RoleBinding "seam-deployer" in namespace "ml-serving"',
    )
    assert rbac.allows("u", group, {**DEPLOY, "verb": "get", "name": "churn-predictor"})[0]
    assert not rbac.allows("u", group, {**DEPLOY, "name": "other"})[0]
    assert not rbac.allows("u", group, {**DEPLOY, "verb": "delete", "name": "churn-predictor"})[0]
    assert not rbac.allows("u", group, {**DEPLOY, "namespace": "default", "name": "churn-predictor"})[0]
    assert not rbac.allows("u", ["someone"], {**DEPLOY, "name": "churn-predictor"})[0]
    assert rbac.allows("u", [access.ADMINS], {**DEPLOY, "name": "anything"})[0]


def test_a_local_review_answers_for_its_namespace_and_needs_a_subject(rbac: access.Rbac) -> None:
    attrs = {"verb": "patch", "group": "apps", "resource": "deployments", "name": "churn-predictor"}
    path = ["namespaces", "ml-serving", "localsubjectaccessreviews"]
    assert review(rbac, path, {"resourceAttributes": attrs, "groups": ["seam-deployer"]})["allowed"] is True
    other = ["namespaces", "default", "localsubjectaccessreviews"]
    assert review(rbac, other, {"resourceAttributes": attrs, "groups": ["seam-deployer"]}) == {
        "allowed": False
    }
    with pytest.raises(ApiError, match="at least one of user or group"):
        review(rbac, path, {"resourceAttributes": attrs})
    with pytest.raises(ApiError, match="must match"):
        review(rbac, path, {"resourceAttributes": {**attrs, "namespace": "default"}, "user": "u"})


def test_a_self_review_is_the_token_holders_unless_impersonating(rbac: access.Rbac) -> None:
    spec = {"resourceAttributes": {**DEPLOY, "name": "other"}}
    assert review(rbac, ["selfsubjectaccessreviews"], spec)["allowed"] is True  # a cluster administrator
    impersonated = review(rbac, ["selfsubjectaccessreviews"], spec, **{"Impersonate-Group": "seam-deployer"})
    assert impersonated == {"allowed": False}


def test_kubectls_protobuf_review_decodes_to_its_json() -> None:
    def field(number: int, value: bytes) -> bytes:
        return bytes([number << 3 | 2, len(value)]) + value

    attrs = b"".join(
        field(n, v.encode())
        for n, v in ((1, "ml-serving"), (2, "patch"), (3, "apps"), (5, "deployments"), (7, "churn-predictor"))
    )
    obj = field(1, b"") + field(2, field(1, attrs))
    type_meta = field(1, b"authorization.k8s.io/v1") + field(2, b"SelfSubjectAccessReview")
    body = protobuf.MAGIC + field(1, type_meta) + field(2, obj)

    assert protobuf.decode_review(body) == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {**DEPLOY, "name": "churn-predictor"}},
    }
    with pytest.raises(ValueError, match="magic"):
        protobuf.decode_review(b"{}")
