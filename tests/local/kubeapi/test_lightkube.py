"""The lightkube client (what Seam's EKS adapter uses) against the local API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lightkube import ApiError as LightkubeApiError
from lightkube import Client, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.resources.apps_v1 import Deployment
from lightkube.types import PatchType
from seam_local.kubeapi import KubeApiServer

from tests.local.kubeapi.support import TOKEN, deployment


@pytest.fixture
def lightkube_client(kube: KubeApiServer) -> Iterator[Client]:
    config = KubeConfig.from_one(
        cluster=Cluster(server=kube.url, certificate_auth_data=kube.ca_data),
        user=User(token=TOKEN),
        namespace="ml",
    )
    with Client(config) as client:
        yield client


def test_lightkube_get_and_patch(kube: KubeApiServer, lightkube_client: Client) -> None:
    kube.apply_deployment(deployment(env=[{"name": "A", "value": "1"}]), namespace="ml")
    fetched = lightkube_client.get(Deployment, "model")
    assert (
        fetched.metadata.namespace == "ml"
        and fetched.spec.template.spec.containers[0].image == "registry.local/model:1"
    )

    smp = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "server",
                            "image": "registry.local/model:2",
                            "env": [{"name": "B", "value": "2"}],
                        }
                    ]
                }
            }
        }
    }
    patched = lightkube_client.patch(Deployment, "model", smp, patch_type=PatchType.STRATEGIC)
    (container,) = patched.spec.template.spec.containers
    assert container.image == "registry.local/model:2"
    assert [(e.name, e.value) for e in container.env] == [("A", "1"), ("B", "2")]

    patched = lightkube_client.patch(
        Deployment, "model", {"metadata": {"labels": {"seam.dev/run": "r1"}}}, patch_type=PatchType.MERGE
    )
    assert patched.metadata.labels == {"team": "ml", "seam.dev/run": "r1"}

    patched = lightkube_client.patch(
        Deployment,
        "model",
        [{"op": "replace", "path": "/spec/replicas", "value": 2}],
        patch_type=PatchType.JSON,
    )
    assert patched.spec.replicas == 2 and patched.metadata.generation == 3

    done = lightkube_client.wait(Deployment, "model", for_conditions=["Available"], namespace="ml")
    assert done.status.observedGeneration is not None
    assert [d.metadata.name for d in lightkube_client.list(Deployment, namespace="*")] == ["model"]

    with pytest.raises(LightkubeApiError) as info:
        lightkube_client.get(Deployment, "missing")
    assert (info.value.status.code, info.value.status.reason) == (404, "NotFound")


def test_lightkube_create_and_apply(kube: KubeApiServer, lightkube_client: Client) -> None:
    created = lightkube_client.create(
        Deployment.from_dict({**deployment("created"), "metadata": {"name": "created"}})
    )
    assert created.metadata.uid and created.metadata.generation == 1
    applied = lightkube_client.apply(
        Deployment.from_dict({**deployment("applied"), "metadata": {"name": "applied"}}), field_manager="seam"
    )
    assert applied.metadata.generation == 1
    with pytest.raises(LightkubeApiError) as info:
        lightkube_client.create(
            Deployment.from_dict({**deployment("created"), "metadata": {"name": "created"}})
        )
    assert info.value.status.code == 409
