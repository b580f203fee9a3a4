"""Just enough of Kubernetes' protobuf encoding to read the access reviews kubectl sends.

kubectl's typed clients send `application/vnd.kubernetes.protobuf` bodies (`kubectl auth can-i` sends
a SelfSubjectAccessReview so): the 4-byte magic `k8s\\0`, then a runtime.Unknown message whose field 1 is
the TypeMeta (apiVersion 1, kind 2) and field 2 the object's own message. Only length-delimited and
varint fields are read; the field numbers are those of k8s.io/api/authorization/v1/generated.proto
(checked against what kubectl sends: tests/local/kubeapi). Replies are JSON, which client-go accepts.
"""

from __future__ import annotations

from typing import Any

MAGIC = b"k8s\x00"

# authorization/v1 messages: field number -> (JSON name, nested message spec or None for a string)
RESOURCE_ATTRIBUTES = {
    1: ("namespace", None),
    2: ("verb", None),
    3: ("group", None),
    4: ("version", None),
    5: ("resource", None),
    6: ("subresource", None),
    7: ("name", None),
}
NON_RESOURCE_ATTRIBUTES = {1: ("path", None), 2: ("verb", None)}
SELF_SPEC = {
    1: ("resourceAttributes", RESOURCE_ATTRIBUTES),
    2: ("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
}
SPEC = {
    1: ("resourceAttributes", RESOURCE_ATTRIBUTES),
    2: ("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
    3: ("user", None),
    4: ("groups", "repeated"),
    6: ("uid", None),
}
REVIEW_SPECS = {
    "SelfSubjectAccessReview": SELF_SPEC,
    "SubjectAccessReview": SPEC,
    "LocalSubjectAccessReview": SPEC,
}


def fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) of a message: ints for varints, bytes for length-delimited fields."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated protobuf varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _message(data: bytes, spec: dict[int, tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, value in fields(data):
        if number not in spec or not isinstance(value, bytes):
            continue
        name, nested = spec[number]
        if nested == "repeated":
            out.setdefault(name, []).append(value.decode())
        elif isinstance(nested, dict):
            out[name] = _message(value, nested)
        else:
            out[name] = value.decode()
    return out


def decode_review(body: bytes) -> dict[str, Any]:
    """An access review sent as Kubernetes protobuf, as the JSON object it stands for (ValueError if it
    is not one)."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body (no k8s\\0 magic)")
    unknown = dict((n, v) for n, v in fields(body[len(MAGIC) :]) if isinstance(v, bytes))
    type_meta = {n: v.decode() for n, v in fields(unknown.get(1, b"")) if isinstance(v, bytes)}
    kind = type_meta.get(2, "")
    if kind not in REVIEW_SPECS:
        raise ValueError(f"not an access review: kind {kind!r}")
    obj = dict((n, v) for n, v in fields(unknown.get(2, b"")) if isinstance(v, bytes))
    return {
        "apiVersion": type_meta.get(1, ""),
        "kind": kind,
        "metadata": {},
        "spec": _message(obj.get(2, b""), REVIEW_SPECS[kind]),
    }
