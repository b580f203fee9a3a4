"""The three PATCH flavours the apiserver accepts, applied to plain JSON-like dicts.

* `merge_patch` - RFC 7386 JSON merge patch (`application/merge-patch+json`).
* `json_patch` - RFC 6902 JSON patch (`application/json-patch+json`): add, remove, replace, test, move, copy.
* `strategic_merge_patch` - Kubernetes strategic merge patch (`application/strategic-merge-patch+json`)
  for the fields of Deployments and Namespaces: lists of containers, env, volumes, ... merge by their
  merge key; `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<field>` and
  `$deleteFromPrimitiveList/<field>` directives are honoured; every other list replaces.

Each raises `PatchError` (turned into 422 by the server) when the patch cannot be applied.
None of them mutates its inputs.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """The patch is malformed or cannot be applied to the document."""


# ---------------------------------------------------------------- RFC 7386


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------- RFC 6902

_MISSING = object()


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list, token: str, *, allow_end: bool) -> int:
    if allow_end and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, allow_end=False)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return node


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise PatchError(f"path /{'/'.join(tokens)} does not exist")


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise PatchError(f"cannot add at /{'/'.join(tokens)}: parent is not an object or array")
    return doc


def _remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, allow_end=False))
    raise PatchError(f"path /{'/'.join(tokens)} does not exist")


def _value(op: dict) -> Any:
    if "value" not in op:
        raise PatchError(f"operation {op.get('op')!r} requires a value")
    return copy.deepcopy(op["value"])


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be an array of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}: needs 'op' and 'path'")
        name, tokens = op["op"], _pointer(op["path"])
        if name == "add":
            doc = _add(doc, tokens, _value(op))
        elif name == "remove":
            doc, _ = _remove(doc, tokens)
        elif name == "replace":
            _get(doc, tokens)  # must exist
            doc, _ = _remove(doc, tokens) if tokens else (doc, None)
            doc = _add(doc, tokens, _value(op))
        elif name == "test":
            if _get(doc, tokens) != op.get("value", _MISSING):
                raise PatchError(f"test operation failed at {op['path']}")
        elif name in ("move", "copy"):
            source = _pointer(op.get("from"))
            if name == "move" and tokens[: len(source)] == source and tokens != source:
                raise PatchError("cannot move a value into one of its children")
            if name == "move":
                doc, value = _remove(doc, source)
            else:
                value = copy.deepcopy(_get(doc, source))
            doc = _add(doc, tokens, value)
        else:
            raise PatchError(f"unknown JSON patch operation {name!r}")
    return doc


# ---------------------------------------------------------------- strategic merge

# patchMergeKey of the list fields of Deployment/Pod specs (k8s.io/api struct tags), by field name.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "conditions": "type",
    "ownerReferences": "uid",
}
# Primitive lists with patchStrategy "merge" (treated as sets), keyed by (parent field, field).
MERGED_PRIMITIVE_LISTS = {("metadata", "finalizers")}

_DELETE = object()
_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"


def strategic_merge_patch(original: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    result = _merge_map(original if isinstance(original, dict) else {}, patch, ())
    return {} if result is _DELETE else result


def _merge_map(original: dict, patch: dict, path: tuple[str, ...]) -> Any:
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip(patch, path)
    if directive not in (None, "merge"):
        raise PatchError(f"unknown $patch directive {directive!r}")
    retain = patch.pop("$retainKeys", None)
    if retain is not None and not isinstance(retain, list):
        raise PatchError("$retainKeys must be a list")

    result = copy.deepcopy(original)
    orders: dict[str, list] = {}
    for key, value in patch.items():
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = value
            continue
        if key.startswith(_DELETE_FROM):
            field = key[len(_DELETE_FROM) :]
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list")
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if item not in value]
            continue
        if key.startswith("$"):
            raise PatchError(f"unknown directive {key!r}")
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            merged = _merge_map(current if isinstance(current, dict) else {}, value, (*path, key))
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            current = result.get(key)
            result[key] = _merge_list(current if isinstance(current, list) else [], value, (*path, key))
        else:
            result[key] = value

    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, MERGE_KEYS.get(field))
    if retain is not None:
        result = {key: value for key, value in result.items() if key in retain}
    return result


def _merge_list(original: list, patch: list, path: tuple[str, ...]) -> list:
    field = path[-1]
    if len(path) >= 2 and (path[-2], field) in MERGED_PRIMITIVE_LISTS:
        return copy.deepcopy(original) + [item for item in patch if item not in original]
    key = MERGE_KEYS.get(field)
    if key is None:
        return _strip(patch, path)

    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip(item, path) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"{'.'.join(path)}: expected objects merged by {key!r}, got {item!r}")
        if key not in item:
            raise PatchError(f"{'.'.join(path)}: map in list is missing its merge key {key!r}")
        position = next((i for i, old in enumerate(result) if old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if position is not None:
                result.pop(position)
            continue
        if position is None:
            merged = _merge_map({}, item, path)
            if merged is not _DELETE:
                result.append(merged)
        else:
            result[position] = _merge_map(result[position], item, path)
    return result


def _reorder(items: list, order: list, key: str | None) -> list:
    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [identity(item) for item in order]
    placed = sorted(
        (item for item in items if identity(item) in wanted), key=lambda i: wanted.index(identity(i))
    )
    rest = [item for item in items if identity(item) not in wanted]
    return placed + rest


def _strip(value: Any, path: tuple[str, ...]) -> Any:
    """A patch value used verbatim (replaced lists, new objects), without directives or null fields."""
    if isinstance(value, dict):
        merged = _merge_map({}, value, path)
        return {} if merged is _DELETE else merged
    if isinstance(value, list):
        return [_strip(item, path) for item in value]
    return value
