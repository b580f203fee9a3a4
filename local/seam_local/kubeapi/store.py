"""In-memory object store with the apiserver's bookkeeping and a watch event log.

* `metadata.resourceVersion` comes from one store-wide counter (as etcd's revision) and increments on
  every write that changes an object; a write that changes nothing keeps the old version.
* `metadata.generation` starts at 1 and increments when `spec` changes; status and metadata writes
  leave it alone. `uid`, `creationTimestamp` and `namespace` are filled in on create.
* Writes to the main resource keep the stored `status`; writes to `/status` keep everything else.
* Every change is appended to a bounded event log that watches read from.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import already_exists, bad_request, conflict, gone, invalid, not_found
from .resources import NAMESPACES, RESOURCES, ResourceType

# Set by the apiserver; a client cannot write them.
SYSTEM_METADATA = (
    "uid",
    "creationTimestamp",
    "generation",
    "namespace",
    "name",
    "selfLink",
    "deletionTimestamp",
)
NAMESPACE_MISMATCH = "the namespace of the provided object does not match the namespace sent on the request"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    rtype: ResourceType
    obj: dict[str, Any]


class Store:
    def __init__(self, history: int = 2000) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._objects: dict[str, dict[tuple[str, str], dict]] = {t.plural: {} for t in RESOURCES}
        self._rv = 0
        self._events: deque[Event] = deque(maxlen=history)
        self._closed = False

    # ------------------------------------------------------------ reads

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._current(rtype, namespace, name))

    def find(self, rtype: ResourceType, namespace: str, name: str) -> dict | None:
        with self._lock:
            obj = self._objects[rtype.plural].get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(
        self,
        rtype: ResourceType,
        namespace: str | None = None,
        predicate: Callable[[dict], bool] | None = None,
    ) -> tuple[list[dict], str]:
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self._objects[rtype.plural].items())
                if (namespace is None or ns == namespace) and (predicate is None or predicate(obj))
            ]
            return items, str(self._rv)

    def _current(self, rtype: ResourceType, namespace: str, name: str) -> dict:
        obj = self._objects[rtype.plural].get((namespace, name))
        if obj is None:
            raise not_found(rtype.plural, rtype.group, name)
        return obj

    # ------------------------------------------------------------ writes

    def create(self, rtype: ResourceType, namespace: str, obj: dict, *, dry_run: bool = False) -> dict:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        with self._lock:
            if rtype.namespaced:
                if meta.get("namespace") not in (None, "", namespace):
                    raise bad_request(NAMESPACE_MISMATCH)
                if ("", namespace) not in self._objects["namespaces"]:
                    raise not_found("namespaces", "", namespace)
                meta["namespace"] = namespace
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)
                )
            obj["kind"], obj["apiVersion"] = rtype.kind, rtype.api_version
            if rtype.has_generation:
                obj["status"] = {}
            rtype.default(obj)
            causes = rtype.validate(obj, None)
            if causes:
                raise invalid(rtype.kind, rtype.group, str(meta.get("name", "")), causes)
            key = (namespace if rtype.namespaced else "", meta["name"])
            if key in self._objects[rtype.plural]:
                raise already_exists(rtype.plural, rtype.group, meta["name"])
            for field in ("resourceVersion", "deletionTimestamp", "selfLink"):
                meta.pop(field, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            if rtype.has_generation:
                meta["generation"] = 1
            if dry_run:
                return obj
            return self._write(rtype, key, obj, "ADDED")

    def update(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        obj: dict,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict:
        """PUT semantics: optimistic concurrency on `metadata.resourceVersion` when the body sets one."""
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
            raise bad_request("the body must be an object with an object metadata")
        meta = obj.get("metadata", {})
        with self._lock:
            current = self._current(rtype, namespace, name)
            if meta.get("name") not in (None, name):
                raise bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
                )
            if rtype.namespaced and meta.get("namespace") not in (None, "", namespace):
                raise bad_request(NAMESPACE_MISMATCH)
            expected_rv = meta.get("resourceVersion")
            if expected_rv and expected_rv != current["metadata"]["resourceVersion"]:
                raise conflict(rtype.plural, rtype.group, name)
            if meta.get("uid") and meta["uid"] != current["metadata"]["uid"]:
                raise conflict(rtype.plural, rtype.group, name)

            if subresource == "status":
                new = copy.deepcopy(current)
                new["status"] = copy.deepcopy(obj.get("status") or {})
            else:
                new = copy.deepcopy(obj)
                new_meta = new.setdefault("metadata", {})
                for field in SYSTEM_METADATA:
                    if field in current["metadata"]:
                        new_meta[field] = current["metadata"][field]
                    else:
                        new_meta.pop(field, None)
                if rtype.has_status:
                    new["status"] = copy.deepcopy(current.get("status", {}))
            new["kind"], new["apiVersion"] = rtype.kind, rtype.api_version
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            rtype.default(new)
            causes = rtype.validate(new, current)
            if causes:
                raise invalid(rtype.kind, rtype.group, name, causes)
            if rtype.has_generation and new.get("spec") != current.get("spec"):
                new["metadata"]["generation"] = current["metadata"].get("generation", 0) + 1
            if new == current or dry_run:
                return copy.deepcopy(new)
            return self._write(rtype, (namespace if rtype.namespaced else "", name), new, "MODIFIED")

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        apply: Callable[[dict], Any],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict:
        """Apply `apply(current) -> patched` and store the result with update semantics, atomically."""
        with self._lock:
            patched = apply(copy.deepcopy(self._current(rtype, namespace, name)))
            if not isinstance(patched, dict):
                raise invalid(
                    rtype.kind,
                    rtype.group,
                    name,
                    [
                        {
                            "field": "",
                            "reason": "FieldValueInvalid",
                            "message": "the patched object is not an object",
                        }
                    ],
                )
            return self.update(rtype, namespace, name, patched, subresource=subresource, dry_run=dry_run)

    def delete(self, rtype: ResourceType, namespace: str, name: str) -> dict:
        with self._lock:
            key = (namespace if rtype.namespaced else "", name)
            current = self._current(rtype, namespace, name)
            del self._objects[rtype.plural][key]
            if rtype is NAMESPACES:
                for other in RESOURCES:
                    for ns_key in [
                        k for k in self._objects[other.plural] if other.namespaced and k[0] == name
                    ]:
                        self._emit(other, "DELETED", self._objects[other.plural].pop(ns_key))
            return self._emit(rtype, "DELETED", current)

    def modify(
        self, rtype: ResourceType, namespace: str, name: str, change: Callable[[dict], dict | None]
    ) -> bool:
        """Controller-side write without validation: `change(copy)` returns the new object or None to skip.

        Returns whether the object changed (and so got a new resourceVersion).
        """
        with self._lock:
            key = (namespace if rtype.namespaced else "", name)
            current = self._objects[rtype.plural].get(key)
            if current is None:
                return False
            new = change(copy.deepcopy(current))
            if new is None or new == current:
                return False
            self._write(rtype, key, new, "MODIFIED")
            return True

    def _write(self, rtype: ResourceType, key: tuple[str, str], obj: dict, event_type: str) -> dict:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[rtype.plural][key] = obj
        self._events.append(Event(self._rv, event_type, rtype, copy.deepcopy(obj)))
        self._changed.notify_all()
        return copy.deepcopy(obj)

    def _emit(self, rtype: ResourceType, event_type: str, obj: dict) -> dict:
        self._rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._events.append(Event(self._rv, event_type, rtype, obj))
        self._changed.notify_all()
        return copy.deepcopy(obj)

    # ------------------------------------------------------------ watch

    def watch_start(self, rtype: ResourceType, since: str | None) -> tuple[list[Event], int]:
        """The events a new watch starts with and its cursor.

        No (or "0") resourceVersion: synthetic ADDED events for the current objects. Otherwise the logged
        events after `since`, or 410 Expired when the log no longer reaches back that far.
        """
        with self._lock:
            if since in (None, "", "0"):
                items = [
                    Event(self._rv, "ADDED", rtype, copy.deepcopy(obj))
                    for _, obj in sorted(self._objects[rtype.plural].items())
                ]
                return items, self._rv
            try:
                cursor = int(since)
            except ValueError as err:
                raise bad_request(f"invalid resourceVersion {since!r}") from err
            oldest = self._events[0].rv if self._events else self._rv + 1
            if len(self._events) == self._events.maxlen and cursor < oldest - 1:
                raise gone(f"too old resource version: {cursor} ({oldest - 1})")
            return [], cursor

    def wait_events(self, cursor: int, timeout: float) -> tuple[list[Event], int]:
        """Events newer than `cursor` (waiting up to `timeout` for one), and the new cursor."""
        with self._changed:
            self._changed.wait_for(lambda: self._rv > cursor or self._closed, timeout=timeout)
            return [event for event in self._events if event.rv > cursor], max(cursor, self._rv)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake and end every watch."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
