"""Kubeconfig documents pointing kubectl (or lightkube) at a server with a bearer token."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def build_kubeconfig(
    server: str,
    token: str,
    *,
    ca_data: str | None = None,
    name: str = "seam-local",
    namespace: str | None = None,
) -> dict[str, Any]:
    """One cluster, user and context, all called `name`; `ca_data` is base64 PEM (None for plain HTTP)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": context}],
        "current-context": name,
    }


def write_kubeconfig(path: str | os.PathLike[str], config: dict[str, Any]) -> Path:
    """Write `config` as YAML, readable by its owner only (it holds a token)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    return path
