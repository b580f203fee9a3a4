"""The resource types served (Namespace, apps/v1 Deployment): defaulting, validation, tables, discovery."""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import cause, required

Causes = list[dict[str, str]]

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class ResourceType:
    """A kind served at `/apis/<group>/<version>` (`/api/v1` for the core group), named as the
    apiserver names it: `kind` Deployment, singular deployment, plural deployments."""

    group: str
    version: str
    kind: str
    short_names: tuple[str, ...]
    namespaced: bool
    has_generation: bool  # `metadata.generation` counts spec changes
    default: Callable[[dict], None]
    validate: Callable[[dict, dict | None], Causes]
    columns: list[dict[str, Any]]  # kubectl's table columns, and each object's cells in them
    cells: Callable[[dict], list[Any]]
    has_status: bool = True  # a `/status` subresource

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def plural(self) -> str:
        return f"{self.singular}s"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


# ---------------------------------------------------------------- helpers


def _name_causes(obj: dict, label: bool) -> Causes:
    name = obj.get("metadata", {}).get("name")
    if not name:
        return [required("metadata.name")]
    pattern, limit = (_DNS1123_LABEL, 63) if label else (_DNS1123_SUBDOMAIN, 253)
    if not isinstance(name, str) or len(name) > limit or not pattern.fullmatch(name):
        kind = "RFC 1123 label" if label else "RFC 1123 subdomain"
        return [
            cause(
                "metadata.name",
                f"Invalid value: {name!r}: a lowercase {kind} must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            )
        ]
    return []


def human_duration(seconds: float) -> str:
    """Go's `duration.HumanDuration`, as kubectl shows ages."""
    s = int(seconds)
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m, h, d = s // 60, s // 3600, s // 86400
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 192:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d" if d < 2920 and d % 365 else f"{d // 365}y"


def age(obj: dict) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    return human_duration(time.time() - created)


def _column(name: str, kind: str, description: str, priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}


_NAME_COLUMN = _column("Name", "string", "Name must be unique within a namespace.", fmt="name")
_AGE_COLUMN = _column("Age", "string", "CreationTimestamp is the time the object was created.")


# ---------------------------------------------------------------- Namespace


def _default_namespace(obj: dict) -> None:
    name = obj["metadata"].get("name")
    if name:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _validate_namespace(obj: dict, old: dict | None) -> Causes:
    return _name_causes(obj, label=True)


NAMESPACES = ResourceType(
    "",
    "v1",
    "Namespace",
    ("ns",),
    namespaced=False,
    has_generation=False,
    default=_default_namespace,
    validate=_validate_namespace,
    columns=[_NAME_COLUMN, _column("Status", "string", "The status of the namespace"), _AGE_COLUMN],
    cells=lambda obj: [obj["metadata"]["name"], obj.get("status", {}).get("phase", ""), age(obj)],
)


# ---------------------------------------------------------------- Deployment


def _pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_pod_spec(pod: dict) -> None:
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("securityContext", {})
    pod.setdefault("schedulerName", "default-scheduler")
    for field in ("containers", "initContainers"):
        for container in pod.get(field) or []:
            if not isinstance(container, dict):
                continue
            container.setdefault("resources", {})
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            if isinstance(container.get("image"), str):
                container.setdefault("imagePullPolicy", _pull_policy(container["image"]))
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def _default_deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _default_pod_spec(template["spec"])


def selector_matches(selector: dict, labels: dict) -> bool:
    """Whether a LabelSelector (matchLabels + matchExpressions) selects `labels`."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _validate_deployment(obj: dict, old: dict | None) -> Causes:
    causes = _name_causes(obj, label=False)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [*causes, required("spec")]
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        causes.append(
            cause("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0")
        )
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        causes.append(required("spec.selector"))
        selector = None
    elif old is not None and selector != old.get("spec", {}).get("selector"):
        causes.append(cause("spec.selector", f"Invalid value: {selector!r}: field is immutable"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*causes, required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is not None and not selector_matches(selector, labels):
        causes.append(
            cause(
                "spec.template.metadata.labels",
                f"Invalid value: {labels!r}: `selector` does not match template `labels`",
            )
        )
    containers = (template.get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        return [*causes, required("spec.template.spec.containers")]
    seen: set[str] = set()
    for i, container in enumerate(containers):
        where = f"spec.template.spec.containers[{i}]"
        if not isinstance(container, dict):
            causes.append(cause(where, "Invalid value: must be an object"))
            continue
        name = container.get("name")
        if not name:
            causes.append(required(f"{where}.name"))
        elif name in seen:
            causes.append(cause(f"{where}.name", f"Duplicate value: {name!r}", "FieldValueDuplicate"))
        seen.add(name)
        if not container.get("image"):
            causes.append(required(f"{where}.image"))
    return causes


def _format_selector(selector: dict) -> str:
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), ",".join(expr.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }.get(op, key)
        )
    return ",".join(parts) or "<none>"


def _deployment_cells(obj: dict) -> list[Any]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    containers = spec.get("template", {}).get("spec", {}).get("containers", [])
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(obj),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        _format_selector(spec.get("selector") or {}),
    ]


DEPLOYMENTS = ResourceType(
    "apps",
    "v1",
    "Deployment",
    ("deploy",),
    namespaced=True,
    has_generation=True,
    default=_default_deployment,
    validate=_validate_deployment,
    columns=[
        _NAME_COLUMN,
        _column("Ready", "string", "Number of the pod with ready state"),
        _column(
            "Up-to-date",
            "integer",
            "Total number of non-terminated pods targeted by this deployment that "
            "have the desired template spec.",
        ),
        _column(
            "Available",
            "integer",
            "Total number of available pods (ready for at least minReadySeconds) "
            "targeted by this deployment.",
        ),
        _AGE_COLUMN,
        _column("Containers", "string", "Names of each container in the template.", priority=1),
        _column("Images", "string", "Images referenced by each container in the template.", priority=1),
        _column("Selector", "string", "Label selector for pods.", priority=1),
    ],
    cells=_deployment_cells,
)

RESOURCES = (NAMESPACES, DEPLOYMENTS)
GROUPS = {"apps": ("v1",)}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


# ---------------------------------------------------------------- discovery documents


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group(name: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in GROUPS[name]]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def api_group_list() -> dict[str, Any]:
    groups = [
        {k: v for k, v in api_group(name).items() if k not in ("kind", "apiVersion")} for name in GROUPS
    ]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    types = [t for t in RESOURCES if (t.group, t.version) == (group, version)]
    if not types:
        return None
    entries: list[dict[str, Any]] = []
    for t in types:
        entries.append(
            {
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": VERBS,
                "shortNames": list(t.short_names),
                **({"categories": ["all"]} if t.namespaced else {}),
            }
        )
        if t.has_status:
            entries.append(
                {
                    "name": f"{t.plural}/status",
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def find_type(group: str, version: str, plural: str) -> ResourceType | None:
    return next((t for t in RESOURCES if (t.group, t.version, t.plural) == (group, version, plural)), None)
