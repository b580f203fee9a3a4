"""What crosses the serving boundary: a release to apply, a snapshot to restore, a rollout's status."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The pod-template annotation that ties what serves to the run that deployed it.
RUN_ID_ANNOTATION = "seam.dev/run-id"
# What Seam manages on a serving Deployment, and so all a rollback may put back: the container's image,
# its SEAM_* env and the pod template's seam.dev/* annotations. Nothing else of a recorded spec
# (command, volumes, securityContext, other env) ever reaches the Deployment from Seam's records.
SEAM_ENV_PREFIX = "SEAM_"
SEAM_ANNOTATION_PREFIX = "seam.dev/"


def seam_env(env: list[dict[str, Any]] | None) -> dict[str, str]:
    """The SEAM_* variables of a container's env that hold a plain value (name -> value)."""
    return {
        e["name"]: e["value"]
        for e in env or []
        if isinstance(e, dict)
        and str(e.get("name", "")).startswith(SEAM_ENV_PREFIX)
        and isinstance(e.get("value"), str)
    }


def seam_annotations(annotations: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in annotations.items() if k.startswith(SEAM_ANNOTATION_PREFIX)}


# All three built at first use (seam.models.run._Record says why), like every Seam record.
class Release(BaseModel):
    """What Deploy puts on the serving Deployment's pod template."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    image: str  # the training image, same digest
    model_uri: str  # SEAM_MODEL_URI: s3://.../model.tar.gz
    model_version: str  # SEAM_MODEL_VERSION
    run_id: str
    registry_arn: str | None = None  # model package ARN

    def annotations(self) -> dict[str, str]:
        values = {
            RUN_ID_ANNOTATION: self.run_id,
            "seam.dev/model-version": self.model_version,
        }
        if self.registry_arn:
            values["seam.dev/model-package-arn"] = self.registry_arn
        return values

    def env(self) -> dict[str, str]:
        return {"SEAM_MODEL_URI": self.model_uri, "SEAM_MODEL_VERSION": self.model_version}


class DeploymentSnapshot(BaseModel):
    """The serving container and pod-template annotations as they were before a patch.

    `container` is the Kubernetes container object exactly as read (image, env, ...), so a rollback
    restores it verbatim; `annotations` are the pod template's annotations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    container: dict[str, Any]
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int = 0

    @property
    def run_id(self) -> str | None:
        """The run whose release this template carries (None: not deployed by Seam)."""
        return self.annotations.get(RUN_ID_ANNOTATION)

    def managed(self) -> tuple[Any, dict[str, str], dict[str, str]]:
        """The fields Seam manages: (image, SEAM_* env, seam.dev/* annotations)."""
        env = self.container.get("env")
        return (
            self.container.get("image"),
            seam_env(env if isinstance(env, list) else None),
            seam_annotations(self.annotations),
        )


class RolloutStatus(BaseModel):
    """kubectl rollout-status semantics: done / progressing / failed, with the numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    state: Literal["done", "progressing", "failed"]
    reason: str = ""
    generation: int = 0
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    available_replicas: int = 0
    run_id: str | None = None  # the live pod template's run-id annotation: whose release is rolling out
