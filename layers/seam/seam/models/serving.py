"""What crosses the serving boundary: a release to apply, a snapshot to restore, a rollout's status."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The pod-template annotation that ties what serves to the run that deployed it.
RUN_ID_ANNOTATION = "seam.dev/run-id"


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
