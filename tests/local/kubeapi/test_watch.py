"""Watches: from a resourceVersion, from now, closed promptly at stop, 410 for a version gone."""

from __future__ import annotations

import threading
import time

import pytest
from seam_local.kubeapi import KubeApiServer
from seam_local.kubeapi.resources import DEPLOYMENTS, NAMESPACES
from seam_local.kubeapi.store import Store

from tests.local.kubeapi.support import DEPLOYMENTS_ML, TOKEN, Http, create, deployment, eventually


def test_watch_streams_changes_from_a_resource_version(kube: KubeApiServer, http: Http) -> None:
    _, listed = http("GET", f"{DEPLOYMENTS_ML}?fieldSelector=metadata.name%3Dwatched")
    rv = listed["metadata"]["resourceVersion"]
    events: list[dict] = []

    def consume() -> None:
        query = f"watch=true&fieldSelector=metadata.name%3Dwatched&resourceVersion={rv}&timeoutSeconds=5"
        url = f"{DEPLOYMENTS_ML}?{query}"
        for event in http.watch(url):
            events.append(event)
            if event["type"] == "DELETED":
                return

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    eventually(lambda: kube.watch_count == 1, what="the watch to open")
    create(http, deployment("other"))  # filtered out by the field selector
    create(http, deployment("watched"))
    kube.wait_for_rollout("ml", "watched")
    http("DELETE", f"{DEPLOYMENTS_ML}/watched")
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert {e["object"]["metadata"]["name"] for e in events} == {"watched"}
    assert (events[0]["type"], events[-1]["type"]) == ("ADDED", "DELETED")
    assert {e["type"] for e in events[1:-1]} == {"MODIFIED"}


def test_watch_without_resource_version_starts_with_current_objects(kube: KubeApiServer, http: Http) -> None:
    create(http, deployment("a"))
    start = time.monotonic()
    events = list(
        http.watch("/apis/apps/v1/deployments?watch=true&timeoutSeconds=0.3&fieldSelector=metadata.name%3Da")
    )
    assert 0.25 < time.monotonic() - start < 2  # timeoutSeconds is honoured
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "a"


def test_stop_closes_open_watches_promptly() -> None:
    server = KubeApiServer(tokens={TOKEN}, step_seconds=0.05).start()
    http = Http(server)
    ended = threading.Event()

    def consume() -> None:
        for _ in http.watch("/api/v1/namespaces?watch=true"):
            pass
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    eventually(lambda: server.watch_count == 1, what="the watch to open")
    idle = http.connection()  # an idle keep-alive connection must not hold stop() up either
    idle.request("GET", "/version", headers=http.headers())
    idle.getresponse().read()
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2
    assert ended.wait(2)
    idle.close()
    server.stop()  # idempotent


def test_too_old_resource_version_is_410() -> None:
    store = Store(history=3)
    store.create(NAMESPACES, "", {"metadata": {"name": "ml"}})
    for i in range(5):
        store.create(DEPLOYMENTS, "ml", deployment(f"d{i}"))
    with pytest.raises(Exception, match="too old resource version") as info:
        store.watch_start(DEPLOYMENTS, "1")
    assert info.value.code == 410
