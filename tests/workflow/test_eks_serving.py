"""The workflow's deploy states against a real Kubernetes API (the project's local one), through the
real EKS adapter: STS-presigned bearer token, TLS verified against the cluster CA, lightkube patches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seam.adapters.serving.eks import EksServing
from seam.adapters.serving.eks_auth import ClusterEndpoint
from seam.models.run import RunStatus
from seam_local.kubeapi import KubeApiServer

from tests.workflow.harness import CRASHING_IMAGE, IMAGE, Harness, model_config

NAMESPACE, NAME = "ml-serving", "churn-predictor"
SERVING_BEFORE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": NAME, "namespace": NAMESPACE},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": NAME}},
        "template": {
            "metadata": {"labels": {"app": NAME}, "annotations": {"team": "growth"}},
            "spec": {
                "containers": [
                    {
                        "name": "model",
                        "image": "registry/churn:previous",
                        "env": [{"name": "LOG_LEVEL", "value": "info"}],
                    }
                ]
            },
        },
    },
}


@pytest.fixture
def kube(harness: Harness) -> Iterator[KubeApiServer]:
    with KubeApiServer(step_seconds=0.02, fail_after_steps=3) as server:
        server.apply_deployment(SERVING_BEFORE)
        assert server.wait_for_rollout(NAMESPACE, NAME) == "complete"
        harness.deps.serving = EksServing(
            frozenset({"seam-local"}),
            resolve_cluster=lambda name: ClusterEndpoint(name, server.url, server.ca_data),
        )
        harness.deps.settings = harness.deps.settings._replace(
            rollout_max_checks=1000
        )  # Wait is 0 s here: the ceiling counts fast checks
        yield server


def template_of(kube: KubeApiServer) -> dict:
    return kube.get_deployment(NAMESPACE, NAME)["spec"]["template"]  # type: ignore[index]


def test_happy_path_patches_the_deployment_and_waits_for_its_rollout(
    harness: Harness, kube: KubeApiServer
) -> None:
    harness.deps.models.put(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, auc=0.9)

    assert harness.wait_execution(run_id)["status"] == "SUCCEEDED"
    assert harness.run(run_id).status is RunStatus.DEPLOYED
    template = template_of(kube)
    [container] = template["spec"]["containers"]
    assert container["image"] == IMAGE  # the training image, same digest
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LOG_LEVEL"] == "info"  # other env untouched
    assert env["SEAM_MODEL_VERSION"] == "000001" and env["SEAM_MODEL_URI"].endswith("/output/model.tar.gz")
    assert template["metadata"]["annotations"]["seam.dev/run-id"] == run_id
    assert template["metadata"]["annotations"]["team"] == "growth"
    assert harness.run(run_id).rollout["state"] == "done"  # type: ignore[index]
    assert "CheckRollout" in harness.states_entered(run_id)


def test_crashlooping_rollout_is_rolled_back_to_the_previous_template(
    harness: Harness, kube: KubeApiServer
) -> None:
    harness.deps.models.put(model_config(image=CRASHING_IMAGE))
    before = template_of(kube)
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.finish_training(run_id, auc=0.9)

    assert harness.wait_execution(run_id)["status"] == "FAILED"
    assert harness.states_entered(run_id)[-4:] == ["Rollback", "Finalize", "RunOutcome", "RunFailed"]
    run = harness.run(run_id)
    assert "ProgressDeadlineExceeded" in (run.cause or "")
    assert template_of(kube) == before  # serving is back on the recorded spec
    assert kube.wait_for_rollout(NAMESPACE, NAME) == "complete"
