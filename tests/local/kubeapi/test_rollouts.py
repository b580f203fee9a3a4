"""The rollout controller: complete, progress through a watch, crashloop past the deadline, restore, hooks."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from seam_local.kubeapi import REVISION_ANNOTATION, KubeApiServer, rollout_status

from tests.local.kubeapi.support import DEPLOYMENTS_ML, TOKEN, Http, condition, create, deployment, eventually


def test_rollout_reaches_complete_with_real_controller_status(kube: KubeApiServer, http: Http) -> None:
    create(http, deployment(replicas=3))
    assert kube.wait_for_rollout("ml", "model", timeout=5) == "complete"
    obj = kube.get_deployment("ml", "model")
    status = obj["status"]
    assert status["observedGeneration"] == obj["metadata"]["generation"] == 1
    assert (
        status["replicas"],
        status["updatedReplicas"],
        status["readyReplicas"],
        status["availableReplicas"],
    ) == (3, 3, 3, 3)
    assert "unavailableReplicas" not in status
    available, progressing = condition(obj, "Available"), condition(obj, "Progressing")
    assert (available["status"], available["reason"], available["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    assert progressing["message"].startswith('ReplicaSet "model-') and progressing["message"].endswith(
        '" has successfully progressed.'
    )
    assert {"lastUpdateTime", "lastTransitionTime"} <= set(progressing)
    assert obj["metadata"]["annotations"][REVISION_ANNOTATION] == "1"
    assert obj["metadata"]["generation"] == 1  # status and annotation writes leave generation alone


def test_rollout_progress_is_visible_through_a_watch(kube: KubeApiServer, http: Http) -> None:
    created = create(http, deployment(replicas=3))
    rv = created["metadata"]["resourceVersion"]
    seen: list[dict[str, Any]] = []
    for event in http.watch(
        f"{DEPLOYMENTS_ML}?watch=true&fieldSelector=metadata.name%3Dmodel&resourceVersion={rv}&timeoutSeconds=5"
    ):
        assert event["type"] == "MODIFIED"
        seen.append(event["object"])
        if rollout_status(event["object"]) == "complete":
            break
    assert seen and rollout_status(seen[-1]) == "complete"
    reasons = [condition(obj, "Progressing").get("reason") for obj in seen]
    assert "ReplicaSetUpdated" in reasons
    updated = [obj["status"].get("updatedReplicas", 0) for obj in seen]
    assert updated == sorted(updated) and updated[-1] == 3
    versions = [int(obj["metadata"]["resourceVersion"]) for obj in seen]
    assert versions == sorted(set(versions))
    for obj in seen:  # counts stay consistent at every step
        status = obj["status"]
        assert status.get("availableReplicas", 0) <= status.get("replicas", 0)
        assert status.get("unavailableReplicas", 0) == status.get("replicas", 0) - status.get(
            "availableReplicas", 0
        )


@pytest.mark.parametrize(
    "broken",
    [
        deployment(image="registry.local/crashloop:1"),
        deployment(annotations={"seam.dev/simulate": "crashloop"}),
    ],
    ids=["image", "annotation"],
)
def test_crashloop_exceeds_progress_deadline(kube: KubeApiServer, http: Http, broken: dict) -> None:
    create(http, broken)
    assert kube.wait_for_rollout("ml", "model", timeout=5) == "failed"
    obj = kube.get_deployment("ml", "model")
    progressing = condition(obj, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"].endswith("has timed out progressing.")
    available = condition(obj, "Available")
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert obj["status"]["updatedReplicas"] == 1 and "availableReplicas" not in obj["status"]
    assert obj["status"]["unavailableReplicas"] == 1


def test_restoring_a_good_template_rolls_out_again(kube: KubeApiServer, http: Http) -> None:
    path = f"{DEPLOYMENTS_ML}/model"
    create(http, deployment())
    assert kube.wait_for_rollout("ml", "model") == "complete"

    bad = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "server", "image": "registry.local/crashloop:2"}]}}
        }
    }
    http("PATCH", path, bad, content_type="application/strategic-merge-patch+json")
    assert kube.wait_for_rollout("ml", "model") == "failed"
    obj = kube.get_deployment("ml", "model")
    assert condition(obj, "Available")["status"] == "True"  # the old pod keeps serving
    assert (
        obj["status"]["replicas"],
        obj["status"]["updatedReplicas"],
        obj["status"]["availableReplicas"],
    ) == (2, 1, 1)
    assert obj["metadata"]["annotations"][REVISION_ANNOTATION] == "2"

    good = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "server", "image": "registry.local/model:1"}]}}
        }
    }
    http("PATCH", path, good, content_type="application/strategic-merge-patch+json")
    assert kube.wait_for_rollout("ml", "model") == "complete"
    obj = kube.get_deployment("ml", "model")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"] == 3
    assert (obj["status"]["replicas"], obj["status"]["availableReplicas"]) == (1, 1)
    assert condition(obj, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert obj["metadata"]["annotations"][REVISION_ANNOTATION] == "3"


def test_on_rollout_hook_decides_each_revision() -> None:
    calls: list[tuple[str, str, str]] = []
    verdicts = iter([True, False, RuntimeError("model server did not start"), True])

    def hook(namespace: str, name: str, obj: dict) -> bool:
        calls.append((namespace, name, obj["spec"]["template"]["spec"]["containers"][0]["image"]))
        verdict = next(verdicts)
        if isinstance(verdict, Exception):
            raise verdict
        return verdict

    with KubeApiServer(tokens={TOKEN}, step_seconds=0.02, fail_after_steps=3, on_rollout=hook) as kube:
        kube.apply_deployment(deployment(image="m:1"), namespace="ml")
        assert kube.wait_for_rollout("ml", "model") == "complete"
        kube.apply_deployment(deployment(image="m:2"), namespace="ml")
        assert kube.wait_for_rollout("ml", "model") == "failed"
        kube.apply_deployment(deployment(image="m:3"), namespace="ml")
        assert kube.wait_for_rollout("ml", "model") == "failed"
        kube.apply_deployment(deployment(image="m:1", replicas=1), namespace="ml")  # restore
        assert kube.wait_for_rollout("ml", "model") == "complete"
        scaled = kube.apply_deployment(
            deployment(image="m:1", replicas=2), namespace="ml"
        )  # scale only: no call
        assert scaled["metadata"]["generation"] == 5
        assert kube.wait_for_rollout("ml", "model") == "complete"
        assert kube.get_deployment("ml", "model")["status"]["availableReplicas"] == 2
    assert calls == [("ml", "model", f"m:{n}") for n in (1, 2, 3, 1)]


def test_rollout_waits_for_a_slow_hook() -> None:
    started, release = threading.Event(), threading.Event()

    def hook(namespace: str, name: str, obj: dict) -> bool:
        started.set()
        return release.wait(10)

    with KubeApiServer(tokens={TOKEN}, step_seconds=0.02, fail_after_steps=2, on_rollout=hook) as kube:
        kube.apply_deployment(deployment(), namespace="ml")
        eventually(started.is_set, what="the hook to be called")
        for _ in range(5):  # more steps than fail_after_steps (step() is safe next to the controller thread)
            kube.controller.step()
        obj = kube.get_deployment("ml", "model")
        assert obj["status"]["updatedReplicas"] == 1 and "availableReplicas" not in obj["status"]
        assert rollout_status(obj) == "progressing"
        assert condition(obj, "Progressing")["reason"] == "ReplicaSetUpdated"  # no deadline while pending
        release.set()
        assert kube.wait_for_rollout("ml", "model") == "complete"
