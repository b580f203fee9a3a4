"""An apps/v1 Deployment as the API server returns it (a dict): kubectl's rollout-status rules, the
release and restore patches, and what Seam reads of it. Pure functions: no client, no lightkube."""

from __future__ import annotations

from typing import Any

from seam.errors import ServingError
from seam.models.serving import (
    RUN_ID_ANNOTATION,
    SEAM_ANNOTATION_PREFIX,
    SEAM_ENV_PREFIX,
    DeploymentSnapshot,
    Release,
    RolloutStatus,
)
from seam.models.serving_target import ServingTarget

TIMED_OUT_REASON = "ProgressDeadlineExceeded"  # kubectl deploymentutil.TimedOutReason


# -- kubectl's rollout-status rules, as a pure function --------------------------------------------


def rollout_decision(deployment: dict[str, Any], generation: int) -> RolloutStatus:
    """kubectl `DeploymentStatusViewer.Status` (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go).

    `generation` is the metadata.generation our patch produced. kubectl waits for the live
    metadata.generation to be observed; waiting for the larger of the two covers both a later writer
    and a stale read.
    """
    name = deployment.get("metadata", {}).get("name", "")
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    desired = spec.get("replicas")  # kubectl skips the first replica rule when unset
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    observed = status.get("observedGeneration", 0)

    def result(state: str, reason: str = "") -> RolloutStatus:
        return RolloutStatus(
            state=state,
            reason=reason,
            generation=generation,
            observed_generation=observed,
            replicas=desired if desired is not None else total,
            updated_replicas=updated,
            available_replicas=available,
            run_id=template_annotations(deployment).get(RUN_ID_ANNOTATION),
        )

    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if observed < max(generation, generation_of(deployment)):
        return result("progressing", "Waiting for deployment spec update to be observed...")
    if _progressing_reason(status) == TIMED_OUT_REASON:
        return result("failed", f'{TIMED_OUT_REASON}: deployment "{name}" exceeded its progress deadline')
    if desired is not None and updated < desired:
        return result(
            "progressing", waiting + f"{updated} out of {desired} new replicas have been updated..."
        )
    if total > updated:
        return result("progressing", waiting + f"{total - updated} old replicas are pending termination...")
    if available < updated:
        return result("progressing", waiting + f"{available} of {updated} updated replicas are available...")
    return result("done", f'deployment "{name}" successfully rolled out')


def _progressing_reason(status: dict[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing":
            return condition.get("reason", "")
    return ""


# -- the two patches -------------------------------------------------------------------------------


def release_patch(container: str, release: Release) -> dict[str, Any]:
    """Strategic merge: containers and env merge by name, so other containers and env stay as they are."""
    env = [{"name": key, "value": value} for key, value in release.env().items()]
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": release.annotations()},
                "spec": {"containers": [{"name": container, "image": release.image, "env": env}]},
            }
        }
    }


def restore_patch(index: int, live: DeploymentSnapshot, snapshot: DeploymentSnapshot) -> list[dict[str, Any]]:
    """JSON patch that puts back only what Seam manages, as the snapshot had it: the container's image,
    its SEAM_* env (plain values) and the seam.dev/* annotations. Everything else stays as it is live
    (other env, command, resources, securityContext, other annotations): a snapshot read back from
    Seam's records never writes more than Seam itself would.

    `add` rather than `replace` for env and annotations: it also works when the template has none left.
    """
    image, env, annotations = snapshot.managed()
    containers = "/spec/template/spec/containers"
    live_env = [
        e for e in live.container.get("env") or [] if not str(e.get("name", "")).startswith(SEAM_ENV_PREFIX)
    ]
    restored_env = live_env + [{"name": k, "value": v} for k, v in env.items()]
    live_annotations = {k: v for k, v in live.annotations.items() if not k.startswith(SEAM_ANNOTATION_PREFIX)}
    return [
        {"op": "test", "path": f"{containers}/{index}/name", "value": snapshot.container["name"]},
        {"op": "replace", "path": f"{containers}/{index}/image", "value": image},
        {"op": "add", "path": f"{containers}/{index}/env", "value": restored_env},
        {
            "op": "add",
            "path": "/spec/template/metadata/annotations",
            "value": {**live_annotations, **annotations},
        },
    ]


# -- reading the Deployment dict -------------------------------------------------------------------


def find_container(deployment: dict[str, Any], target: ServingTarget) -> tuple[int, dict[str, Any]]:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    for index, container in enumerate(containers):
        if container.get("name") == target.container:
            return index, container
    names = ", ".join(c.get("name", "?") for c in containers) or "none"
    raise ServingError(
        f"container {target.container} not found in deployment {target.namespace}/{target.deployment} "
        f"in cluster {target.cluster} (containers: {names})"
    )


def template_annotations(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {})


def generation_of(deployment: dict[str, Any]) -> int:
    return int(deployment.get("metadata", {}).get("generation", 0))
