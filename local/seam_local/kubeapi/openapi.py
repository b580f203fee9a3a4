"""A minimal `/openapi/v3`: no schemas, only enough for kubectl's field-validation probe.

`kubectl apply/create -f` asks the OpenAPI v3 document of the object's group-version whether its
PATCH operation takes the `fieldValidation` query parameter. If it does, kubectl leaves validation to
the server (it sends `fieldValidation=Strict`, which this server accepts and ignores); without any
OpenAPI it refuses to run unless given `--validate=false`. Patches are then computed from kubectl's
built-in types, as for any server without schemas.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import RESOURCES, ResourceType

_QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _group_version_path(rtype: ResourceType) -> str:
    return f"apis/{rtype.group}/{rtype.version}" if rtype.group else f"api/{rtype.version}"


def _item_path(rtype: ResourceType) -> str:
    scope = "/namespaces/{namespace}" if rtype.namespaced else ""
    return f"/{_group_version_path(rtype)}{scope}/{rtype.plural}/{{name}}"


def group_version_document(path: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document for `api/v1` or `apis/<group>/<version>`, or None."""
    types = [t for t in RESOURCES if _group_version_path(t) == path]
    if not types:
        return None
    paths = {}
    for rtype in types:
        parameters = [
            {"name": name, "in": "query", "schema": {"type": "string"}} for name in _QUERY_PARAMETERS
        ]
        paths[_item_path(rtype)] = {
            "patch": {
                "operationId": f"patch{rtype.kind}",
                "parameters": parameters,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {
                    "group": rtype.group,
                    "version": rtype.version,
                    "kind": rtype.kind,
                },
            }
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths}


def root_document() -> dict[str, Any]:
    paths = {}
    for path in sorted({_group_version_path(t) for t in RESOURCES}):
        digest = hashlib.sha256(json.dumps(group_version_document(path), sort_keys=True).encode()).hexdigest()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}
