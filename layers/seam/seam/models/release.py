"""Register's and Deploy's sections of the workflow document: the version registered, and its rollout."""

from typing import Any, Literal

from pydantic import Field

from seam.models.run import _Record


class Registration(_Record):
    version: str
    model_package_arn: str
    approval: Literal["Approved", "PendingManualApproval"]
    deployable: bool = False  # approved and the model has a serving target


class DeploymentInfo(_Record):
    generation: int
    wait_seconds: int = 15  # the workflow's Wait between rollout checks
    checks: int = 0
    rollout: dict[str, Any] = Field(default_factory=dict)  # the last RolloutStatus
    state: Literal["progressing", "done", "failed"] = "progressing"
