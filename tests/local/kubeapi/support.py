"""Helpers of the local Kubernetes API tests: a deployment body, a tiny HTTP client, Status checks."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from http import client as http_client
from typing import Any

import pytest
from seam_local.kubeapi import KubeApiServer

TOKEN = "static-test-token"
DEPLOYMENTS_ML = "/apis/apps/v1/namespaces/ml/deployments"


# ---------------------------------------------------------------- helpers


def deployment(
    name: str = "model",
    image: str = "registry.local/model:1",
    *,
    replicas: int | None = None,
    env: list[dict] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "server", "image": image}
    if env is not None:
        container["env"] = env
    template_meta: dict[str, Any] = {"labels": {"app": name}}
    if annotations:
        template_meta["annotations"] = annotations
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": template_meta, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"team": "ml"}},
        "spec": spec,
    }


def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class Http:
    """A tiny client: one connection per call, JSON in and out."""

    def __init__(self, server: KubeApiServer, token: str | None = TOKEN) -> None:
        self.server = server
        self.token = token
        self.context = ssl.create_default_context(cadata=server.ca_pem.decode()) if server.ca_pem else None

    def connection(self, timeout: float = 5.0) -> http_client.HTTPConnection:
        if self.context is not None:
            return http_client.HTTPSConnection(
                "127.0.0.1", self.server.port, context=self.context, timeout=timeout
            )
        return http_client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **(extra or {})}

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn = self.connection()
        try:
            conn.request(
                method,
                path,
                body=data,
                headers=self.headers({"Content-Type": content_type, **(headers or {})}),
            )
            response = conn.getresponse()
            raw = response.read()
            if response.getheader("Content-Type", "").startswith("application/json"):
                return response.status, json.loads(raw)
            return response.status, raw.decode()
        finally:
            conn.close()

    def watch(self, path: str) -> Iterator[dict[str, Any]]:
        """Yield the events of a watch stream until the server ends it."""
        conn = self.connection(timeout=10)
        try:
            conn.request("GET", path, headers=self.headers())
            response = conn.getresponse()
            assert response.status == 200, response.read()
            assert response.getheader("Transfer-Encoding") == "chunked"
            while line := response.readline():
                yield json.loads(line)
        finally:
            conn.close()


def create(http: Http, body: dict[str, Any], namespace: str = "ml") -> dict[str, Any]:
    status, created = http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body)
    assert status == 201, created
    return created


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), {})


def assert_status(body: Any, code: int, reason: str, message: str | None = None) -> None:
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert (body["code"], body["reason"]) == (code, reason), body
    if message is not None:
        assert body["message"] == message
