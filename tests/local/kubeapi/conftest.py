"""Fixtures of the local Kubernetes API tests (seam_local.kubeapi): a server with a fast rollout
controller, one whose controller never steps, and an HTTP client for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seam_local.kubeapi import KubeApiServer

from tests.local.kubeapi.support import TOKEN, Http


@pytest.fixture
def kube() -> Iterator[KubeApiServer]:
    """A server with a fast rollout controller and a namespace `ml`."""
    server = KubeApiServer(tokens={TOKEN}, step_seconds=0.02, fail_after_steps=3)
    server.create_namespace("ml")
    with server:
        yield server


@pytest.fixture
def idle() -> Iterator[KubeApiServer]:
    """A server whose controller never steps, for exact resourceVersion/generation bookkeeping."""
    server = KubeApiServer(tokens={TOKEN}, step_seconds=3600)
    server.create_namespace("ml")
    with server:
        yield server


@pytest.fixture
def http(kube: KubeApiServer) -> Http:
    return Http(kube)


@pytest.fixture
def idle_http(idle: KubeApiServer) -> Http:
    return Http(idle)
