"""`fieldSelector` and `labelSelector` query parameters, parsed into predicates over objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_FIELDS = {
    "metadata.name": lambda obj: obj.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda obj: obj.get("metadata", {}).get("namespace", ""),
    "status.phase": lambda obj: obj.get("status", {}).get("phase", ""),
}


def field_selector(text: str | None) -> Predicate:
    """Comma-separated `field=value`, `field==value`, `field!=value` terms, all of which must hold."""
    terms = []
    for term in filter(None, (text or "").split(",")):
        match = re.fullmatch(r"\s*([\w.]+)\s*(==|!=|=)\s*(.*?)\s*", term)
        if not match or match.group(1) not in _FIELDS:
            raise bad_request(f'"{term}" is not a known field selector: only {", ".join(_FIELDS)}')
        terms.append((_FIELDS[match.group(1)], match.group(2) != "!=", match.group(3)))
    return lambda obj: all((get(obj) == value) == equal for get, equal, value in terms)


_LABEL_TERM = re.compile(
    r"\s*(?P<neg>!)?\s*(?P<key>[\w./-]+)\s*"
    r"(?:(?P<op>==|!=|=)\s*(?P<value>[\w.-]*)|\s(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*"
)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [term for term in terms if term.strip()]


def label_selector(text: str | None) -> Predicate:
    """Equality (`a=b`, `a!=b`), set (`a in (x,y)`, `a notin (x)`) and existence (`a`, `!a`) terms."""
    checks: list[Predicate] = []
    for term in _split_terms(text or ""):
        match = _LABEL_TERM.fullmatch(term)
        if not match or (match.group("neg") and (match.group("op") or match.group("setop"))):
            raise bad_request(f"unable to parse requirement: {term!r}")
        key, op, value = match.group("key"), match.group("op") or match.group("setop"), match.group("value")
        values = {v.strip() for v in (match.group("values") or "").split(",") if v.strip()}
        checks.append(_label_check(key, op, value, values, negated=bool(match.group("neg"))))
    return lambda obj: all(check(obj.get("metadata", {}).get("labels") or {}) for check in checks)


def _label_check(key: str, op: str | None, value: str, values: set[str], *, negated: bool) -> Predicate:
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value
    if op == "!=":
        return lambda labels: labels.get(key) != value
    if op == "in":
        return lambda labels: labels.get(key) in values
    if op == "notin":
        return lambda labels: labels.get(key) not in values
    return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)
