"""In-memory serving adapter: the same contract as EKS, for tests that are not about Kubernetes."""

from __future__ import annotations

from dataclasses import dataclass, field
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

FAILING_IMAGE_MARKER = "crashloop"  # an image containing this never becomes available


@dataclass
class _Deployment:
    container: dict[str, Any]
    annotations: dict[str, str] = field(default_factory=dict)
    generation: int = 1


@dataclass
class InMemoryServing:
    deployments: dict[tuple[str, str, str], _Deployment] = field(default_factory=dict)
    checks_until_done: int = 1
    fail_rollouts: bool = False  # every rollout fails (as a cluster without capacity would)
    forbidden: set[tuple[str, str, str]] = field(
        default_factory=set
    )  # Deployments the deployer may not patch
    _checks: dict[tuple[str, str, str, int], int] = field(default_factory=dict)

    def add(self, target: ServingTarget, image: str, env: dict[str, str] | None = None) -> None:
        container = {
            "name": target.container,
            "image": image,
            "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        }
        self.deployments[(target.cluster, target.namespace, target.deployment)] = _Deployment(container)

    def get(self, target: ServingTarget) -> _Deployment:
        key = (target.cluster, target.namespace, target.deployment)
        if key not in self.deployments:
            raise ServingError(
                f"deployment {target.namespace}/{target.deployment} not found in cluster {target.cluster}"
            )
        return self.deployments[key]

    def snapshot(self, target: ServingTarget) -> DeploymentSnapshot:
        dep = self.get(target)
        return DeploymentSnapshot(
            container=dict(dep.container), annotations=dict(dep.annotations), generation=dep.generation
        )

    def apply(self, target: ServingTarget, release: Release) -> int:
        dep = self.get(target)
        env = {e["name"]: e for e in dep.container.get("env", [])}
        env.update({k: {"name": k, "value": v} for k, v in release.env().items()})
        dep.container = {**dep.container, "image": release.image, "env": list(env.values())}
        dep.annotations = {**dep.annotations, **release.annotations()}
        dep.generation += 1
        return dep.generation

    def rollout_status(self, target: ServingTarget, generation: int) -> RolloutStatus:
        dep = self.get(target)
        key = (target.cluster, target.namespace, target.deployment, generation)
        self._checks[key] = self._checks.get(key, 0) + 1
        if self.fail_rollouts or FAILING_IMAGE_MARKER in dep.container["image"]:
            return RolloutStatus(
                state="failed",
                reason="ProgressDeadlineExceeded",
                generation=generation,
                observed_generation=generation,
                replicas=1,
                updated_replicas=1,
                run_id=dep.annotations.get(RUN_ID_ANNOTATION),
            )
        if self._checks[key] < self.checks_until_done:
            return RolloutStatus(
                state="progressing",
                reason="waiting for rollout",
                generation=generation,
                observed_generation=generation,
                replicas=1,
                run_id=dep.annotations.get(RUN_ID_ANNOTATION),
            )
        return RolloutStatus(
            state="done",
            generation=generation,
            observed_generation=generation,
            replicas=1,
            updated_replicas=1,
            available_replicas=1,
            run_id=dep.annotations.get(RUN_ID_ANNOTATION),
        )

    def may_patch(self, target: ServingTarget, group: str) -> tuple[bool, str]:
        """Allowed unless the target is in `forbidden` (what RBAC would answer for `group`)."""
        key = (target.cluster, target.namespace, target.deployment)
        if key in self.forbidden:
            return False, ""
        return True, f'RBAC: allowed by RoleBinding "{group}" in namespace "{target.namespace}"'

    def restore(self, target: ServingTarget, snapshot: DeploymentSnapshot) -> int:
        dep = self.get(target)
        live = DeploymentSnapshot(container=dep.container, annotations=dep.annotations)
        if live.managed() == snapshot.managed():
            return dep.generation  # already restored: retrying a rollback is harmless
        image, env, annotations = snapshot.managed()
        kept_env = [e for e in dep.container.get("env", []) if not e["name"].startswith(SEAM_ENV_PREFIX)]
        dep.container = {
            **dep.container,
            "image": image,
            "env": kept_env + [{"name": k, "value": v} for k, v in env.items()],
        }
        kept = {k: v for k, v in dep.annotations.items() if not k.startswith(SEAM_ANNOTATION_PREFIX)}
        dep.annotations = {**kept, **annotations}
        dep.generation += 1
        return dep.generation
