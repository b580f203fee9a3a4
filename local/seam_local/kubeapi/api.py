"""Request routing for the Kubernetes REST API, independent of HTTP plumbing.

`Api.handle(Request)` returns a `Reply` (status code + JSON body) or, for `?watch=true`, a `WatchPlan`
that the HTTP layer streams. Errors are raised as `ApiError` and rendered as `Status` objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from . import access, openapi, protobuf
from .errors import ApiError, bad_request, method_not_allowed, unprocessable, unsupported_media_type
from .patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from .resources import (
    GROUPS,
    ResourceType,
    api_group,
    api_group_list,
    api_resource_list,
    api_versions,
    find_type,
)
from .selectors import field_selector, label_selector
from .store import Store

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-seam-local",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = [JSON_PATCH, MERGE, STRATEGIC, APPLY]
PROTOBUF = "application/vnd.kubernetes.protobuf"  # kubectl's typed `create <kind>` commands send it
DEFAULT_WATCH_SECONDS = 1800


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]  # case-insensitive (http.client.HTTPMessage)
    body: bytes = b""


@dataclass
class Reply:
    code: int
    body: Any


@dataclass
class WatchPlan:
    rtype: ResourceType
    namespace: str | None
    matches: Callable[[dict], bool]
    since: str | None
    timeout_seconds: float
    table: bool


def not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def media_type(headers: Mapping[str, str]) -> str:
    return (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


def _decode(body: bytes, content_type: str) -> Any:
    if content_type == PROTOBUF:
        raise unsupported_media_type(content_type, ["application/json", "application/yaml"])
    try:
        if content_type in ("application/yaml", "application/x-yaml", APPLY):
            return yaml.safe_load(body.decode())
        return json.loads(body)
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"the request body is not valid {content_type or 'JSON'}: {err}") from err


def _review_body(req: Request) -> Any:
    """An access review's body: JSON or YAML, or the protobuf kubectl's typed client sends."""
    if not req.body:
        return None
    if media_type(req.headers) != PROTOBUF:
        return _decode(req.body, media_type(req.headers))
    try:
        return protobuf.decode_review(req.body)
    except ValueError as err:
        raise bad_request(f"the request body is not an access review: {err}") from err


def as_table(rtype: ResourceType, items: list[dict], rv: str, include: str) -> dict[str, Any]:
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": rtype.cells(obj)}
        if include == "Object":
            row["object"] = {"kind": rtype.kind, "apiVersion": rtype.api_version, **obj}
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": rtype.columns,
        "rows": rows,
    }


def wants_table(headers: Mapping[str, str]) -> bool:
    return "as=table" in (headers.get("Accept") or "").replace(" ", "").lower()


class Api:
    def __init__(self, store: Store, server_address: Callable[[], str]) -> None:
        self.store = store
        self.server_address = server_address
        self.rbac = access.Rbac()  # what access reviews are answered from (seam_local.kubeapi.access)

    def handle(self, req: Request) -> Reply | WatchPlan:
        parts = [p for p in req.path.split("/") if p]
        if parts[:2] == ["openapi", "v3"]:
            return self._openapi(req, "/".join(parts[2:]))
        if parts[:3] == ["apis", access.GROUP, access.VERSION] and len(parts) > 3:
            return Reply(201, access.review(self.rbac, req.method, parts[3:], _review_body(req), req.headers))
        if parts[:1] == ["api"] and len(parts) > 2:  # /api/{version}/...
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) > 3:  # /apis/{group}/{version}/...
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self._discovery(req, parts)

        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            scoped = find_type(group, version, rest[2])
            if scoped is not None and scoped.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = find_type(group, version, rest[0])
        if rtype is None or len(rest) > 3:
            raise not_found_path()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and (subresource != "status" or not rtype.has_status):
            raise not_found_path()
        if name is not None and rtype.namespaced and namespace is None:
            raise not_found_path()
        if name is None:
            return self._collection(req, rtype, namespace)
        return self._item(req, rtype, namespace or "", name, subresource)

    # ------------------------------------------------------------ discovery

    def _discovery(self, req: Request, parts: list[str]) -> Reply:
        if req.method != "GET":
            raise method_not_allowed(req.method)
        doc: dict[str, Any] | None = None
        if parts == ["version"]:
            doc = VERSION
        elif parts == ["api"]:
            doc = api_versions(self.server_address())
        elif parts == ["apis"]:
            doc = api_group_list()
        elif len(parts) == 2 and parts[0] == "apis" and parts[1] in GROUPS:
            doc = api_group(parts[1])
        elif len(parts) == 2 and parts[0] == "api":
            doc = api_resource_list("", parts[1])
        elif len(parts) == 3 and parts[0] == "apis" and parts[2] in GROUPS.get(parts[1], ()):
            doc = api_resource_list(parts[1], parts[2])
        if doc is None:
            raise not_found_path()
        return Reply(200, doc)

    def _openapi(self, req: Request, group_version: str) -> Reply:
        if req.method != "GET":
            raise method_not_allowed(req.method)
        doc = openapi.group_version_document(group_version) if group_version else openapi.root_document()
        if doc is None:
            raise not_found_path()
        return Reply(200, doc)

    # ------------------------------------------------------------ resources

    def _collection(self, req: Request, rtype: ResourceType, namespace: str | None) -> Reply | WatchPlan:
        if req.method == "GET":
            fields, labels = (
                field_selector(req.query.get("fieldSelector")),
                label_selector(req.query.get("labelSelector")),
            )

            def matches(obj: dict) -> bool:
                return fields(obj) and labels(obj)

            if req.query.get("watch") in ("true", "1"):
                try:
                    timeout = float(req.query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
                except ValueError as err:
                    raise bad_request("timeoutSeconds must be a number") from err
                return WatchPlan(
                    rtype,
                    namespace,
                    matches,
                    req.query.get("resourceVersion"),
                    timeout,
                    wants_table(req.headers),
                )
            items, rv = self.store.list(rtype, namespace, matches)
            if wants_table(req.headers):
                return Reply(200, as_table(rtype, items, rv, req.query.get("includeObject", "Metadata")))
            for item in items:
                item.pop("kind", None)
                item.pop("apiVersion", None)
            return Reply(
                200,
                {
                    "kind": rtype.list_kind,
                    "apiVersion": rtype.api_version,
                    "metadata": {"resourceVersion": rv},
                    "items": items,
                },
            )
        if req.method == "POST":
            if rtype.namespaced and namespace is None:
                raise method_not_allowed(req.method)
            body = _decode(req.body, media_type(req.headers))
            if not isinstance(body, dict):
                raise bad_request("the request body must be a JSON object")
            _check_kind(rtype, body)
            created = self.store.create(rtype, namespace or "", body, dry_run=_dry_run(req))
            return Reply(201, created)
        raise method_not_allowed(req.method)

    def _item(self, req: Request, rtype: ResourceType, namespace: str, name: str, sub: str | None) -> Reply:
        dry_run = _dry_run(req)
        if req.method == "GET":
            obj = self.store.get(rtype, namespace, name)
            if wants_table(req.headers):
                return Reply(
                    200,
                    as_table(
                        rtype,
                        [obj],
                        obj["metadata"]["resourceVersion"],
                        req.query.get("includeObject", "Metadata"),
                    ),
                )
            return Reply(200, obj)
        if req.method == "PUT":
            body = _decode(req.body, media_type(req.headers))
            if not isinstance(body, dict):
                raise bad_request("the request body must be a JSON object")
            _check_kind(rtype, body)
            return Reply(
                200, self.store.update(rtype, namespace, name, body, subresource=sub, dry_run=dry_run)
            )
        if req.method == "PATCH":
            return self._patch(req, rtype, namespace, name, sub, dry_run)
        if req.method == "DELETE" and sub is None:
            deleted = self.store.delete(rtype, namespace, name)
            details = {"name": name, "kind": rtype.plural, "uid": deleted["metadata"]["uid"]}
            if rtype.group:
                details["group"] = rtype.group
            return Reply(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                },
            )
        raise method_not_allowed(req.method)

    def _patch(
        self, req: Request, rtype: ResourceType, namespace: str, name: str, sub: str | None, dry_run: bool
    ) -> Reply:
        kind = media_type(req.headers)
        if kind not in PATCH_TYPES:
            raise unsupported_media_type(kind, PATCH_TYPES)
        try:
            body = yaml.safe_load(req.body.decode()) if kind == APPLY else json.loads(req.body)
        except (ValueError, yaml.YAMLError) as err:
            raise unprocessable(
                f"the patch body is not valid {'YAML' if kind == APPLY else 'JSON'}: {err}"
            ) from err
        if kind != JSON_PATCH and not isinstance(body, dict):
            raise unprocessable("the patch body must be a JSON object")
        if kind == APPLY:
            if not req.query.get("fieldManager"):
                raise unprocessable("fieldManager is required for apply patch")
            _check_kind(rtype, body)
            meta = body.setdefault("metadata", {})
            if not isinstance(meta, dict) or meta.setdefault("name", name) != name:
                raise bad_request(f"the name of the object does not match the name on the URL ({name})")
            if sub is None and self.store.find(rtype, namespace, name) is None:
                return Reply(201, self.store.create(rtype, namespace, body, dry_run=dry_run))

        def apply(current: dict) -> Any:
            try:
                if kind == JSON_PATCH:
                    return json_patch(current, body)
                if kind == MERGE:
                    return merge_patch(current, body)
                return strategic_merge_patch(current, body)
            except PatchError as err:
                raise unprocessable(str(err)) from err

        return Reply(200, self.store.patch(rtype, namespace, name, apply, subresource=sub, dry_run=dry_run))


def _dry_run(req: Request) -> bool:
    return req.query.get("dryRun") == "All"


def _check_kind(rtype: ResourceType, body: dict) -> None:
    declared = (body.get("kind") or rtype.kind, body.get("apiVersion") or rtype.api_version)
    if declared != (rtype.kind, rtype.api_version):
        raise bad_request(
            f"the object's kind/apiVersion ({body.get('kind')}, {body.get('apiVersion')}) does not match the "
            f"endpoint ({rtype.kind}, {rtype.api_version})"
        )
