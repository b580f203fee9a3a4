"""The serving adapter's interface: how the deploy, check_rollout and rollback states touch serving.

The EKS implementation lives in `eks.py`; `memory.py` is an in-memory fake with the same behaviour for
unit and workflow tests that are not about Kubernetes.
"""

from __future__ import annotations

from typing import Protocol

from seam.models.serving import DeploymentSnapshot, Release, RolloutStatus
from seam.models.serving_target import ServingTarget

DEPLOYER_GROUP = (
    "seam-deployer"  # the deploy role's Kubernetes group (template DeployAccessEntry, manifests/)
)


class ServingAdapter(Protocol):
    def snapshot(self, target: ServingTarget) -> DeploymentSnapshot:
        """Read the target container and pod-template annotations (raises ServingError if absent)."""
        ...

    def apply(self, target: ServingTarget, release: Release) -> int:
        """Patch image, model env and annotations; return the Deployment's new metadata.generation."""
        ...

    def rollout_status(self, target: ServingTarget, generation: int) -> RolloutStatus:
        """kubectl rollout-status rules for the revision created at `generation`."""
        ...

    def may_patch(self, target: ServingTarget, group: str) -> tuple[bool, str]:
        """Whether members of Kubernetes group `group` (Seam's deployer: DEPLOYER_GROUP) may patch the
        target Deployment, as the cluster's authorizer answers (a LocalSubjectAccessReview), with its
        reason. Asked as the caller, who needs `create` on localsubjectaccessreviews in the namespace
        (Kubernetes' built-in `admin` role has it)."""
        ...

    def restore(self, target: ServingTarget, snapshot: DeploymentSnapshot) -> int:
        """Put back the fields Seam manages as the snapshot had them - the container's image, its SEAM_*
        env and the seam.dev/* annotations - and nothing else of it (idempotent); return the new
        generation."""
        ...
