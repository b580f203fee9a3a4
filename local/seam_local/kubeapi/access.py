"""Access reviews (authorization.k8s.io/v1) answered from RBAC documents, as the apiserver's RBAC
authorizer answers them for resource requests.

The local API serves Deployments, not RBAC objects: the Roles, ClusterRoles and their bindings it
authorizes with are given to it as documents (`KubeApiServer.load_rbac`, e.g. the repository's
manifests/seam-deployer-rbac.yaml). A holder of the local API's token is a cluster administrator, as the
creator of an EKS cluster is; an impersonated subject (kubectl's `--as`/`--as-group`, sent as
Impersonate-User/Impersonate-Group headers) and the subject of a (Local)SubjectAccessReview get exactly
what the RBAC documents grant.

Served: POST selfsubjectaccessreviews, subjectaccessreviews and namespaces/{ns}/localsubjectaccessreviews
(what `kubectl auth can-i` and Seam's onboarding check send). Not modelled: non-resource URLs (always
denied), aggregated ClusterRoles, ServiceAccount subjects other than by user name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request, method_not_allowed

GROUP, VERSION = "authorization.k8s.io", "v1"
ADMINS = "system:masters"  # the group every holder of the local API's token is in
KINDS = {
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "subjectaccessreviews": "SubjectAccessReview",
    "localsubjectaccessreviews": "LocalSubjectAccessReview",
}


@dataclass
class Rbac:
    """RBAC documents: roles by (namespace, name) ('' for ClusterRoles) and the bindings to them."""

    roles: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)  # kind, ns, name
    bindings: list[dict[str, Any]] = field(default_factory=list)

    def load(self, documents: Iterable[dict[str, Any]]) -> None:
        for doc in documents:
            kind, meta = doc.get("kind"), doc.get("metadata") or {}
            namespace = meta.get("namespace", "") if kind in ("Role", "RoleBinding") else ""
            if kind in ("Role", "ClusterRole"):
                self.roles[(kind, namespace, meta.get("name", ""))] = list(doc.get("rules") or [])
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                self.bindings.append({**doc, "metadata": {**meta, "namespace": namespace}})

    def allows(self, user: str, groups: Iterable[str], attributes: Mapping[str, Any]) -> tuple[bool, str]:
        """Whether the subject may do `attributes` (resourceAttributes), and the reason as RBAC words it."""
        groups = set(groups)
        if ADMINS in groups:
            return True, f"allowed: group {ADMINS!r} (the local API's cluster administrators)"
        namespace = attributes.get("namespace", "")
        for binding in self.bindings:
            bound_in = binding["metadata"]["namespace"]
            if bound_in and bound_in != namespace:
                continue
            if not any(_names(subject, user, groups) for subject in binding.get("subjects") or []):
                continue
            ref = binding.get("roleRef") or {}
            role_namespace = bound_in if ref.get("kind") == "Role" else ""
            rules = self.roles.get((ref.get("kind", ""), role_namespace, ref.get("name", "")), [])
            if any(_matches(rule, attributes) for rule in rules):
                kind, name = binding.get("kind"), binding["metadata"].get("name")
                where = f' in namespace "{bound_in}"' if bound_in else ""
                return True, f'RBAC: allowed by {kind} "{name}"{where}'
        return False, ""


def _names(subject: Mapping[str, Any], user: str, groups: set[str]) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "Group":
        return name in groups
    if kind == "User":
        return name == user
    if kind == "ServiceAccount":
        return user == f"system:serviceaccount:{subject.get('namespace')}:{name}"
    return False


def _matches(rule: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    def has(key: str, value: str) -> bool:
        allowed = rule.get(key) or []
        return "*" in allowed or value in allowed

    resource = attributes.get("resource", "")
    if attributes.get("subresource"):
        resource = f"{resource}/{attributes['subresource']}"
    names = rule.get("resourceNames") or []
    return (
        has("apiGroups", attributes.get("group", ""))
        and has("resources", resource)
        and has("verbs", attributes.get("verb", ""))
        and (not names or attributes.get("name", "") in names)
    )


def review(rbac: Rbac, method: str, rest: list[str], body: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    """The answered review for POST /apis/authorization.k8s.io/v1/<rest> (the request with `status`)."""
    namespace = None
    if len(rest) == 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if (
        len(rest) != 1
        or rest[0] not in KINDS
        or (namespace is None) == (rest[0] == "localsubjectaccessreviews")
    ):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if method != "POST":
        raise method_not_allowed(method)
    kind = KINDS[rest[0]]
    if not isinstance(body, dict) or body.get("kind", kind) != kind:
        raise bad_request(f"expected a {kind}")
    spec = body.get("spec") or {}
    attributes = spec.get("resourceAttributes")
    if not isinstance(attributes, dict):
        return {**body, "status": {"allowed": False, "reason": "only resourceAttributes are reviewed here"}}
    if namespace is not None:
        if attributes.get("namespace", namespace) != namespace:
            raise ApiError(422, "Invalid", "spec.resourceAttributes.namespace must match the request's")
        attributes = {**attributes, "namespace": namespace}
    if kind == "SelfSubjectAccessReview":
        user = headers.get("Impersonate-User")
        groups = _impersonated_groups(headers)
        if user is None and not groups:
            user, groups = "kubernetes-admin", [ADMINS, "system:authenticated"]
        else:
            groups = [*groups, "system:authenticated"]
    else:
        user, groups = spec.get("user") or "", list(spec.get("groups") or [])
        if not user and not groups:
            raise ApiError(422, "Invalid", "at least one of user or group must be specified")
    allowed, reason = rbac.allows(user or "", groups, attributes)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        **{k: v for k, v in body.items() if k in ("metadata", "spec")},
        "status": status,
    }


def _impersonated_groups(headers: Mapping[str, str]) -> list[str]:
    get_all = getattr(headers, "get_all", None)
    values = get_all("Impersonate-Group") if get_all else [headers.get("Impersonate-Group")]
    return [v for v in values or [] if v]
