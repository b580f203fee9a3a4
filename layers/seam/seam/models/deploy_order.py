"""What a deploy run (an approval, a rollback) deploys. A module of its own: only the trigger, Register and
the serving functions use it, so the other states do not define it at cold start."""

from typing import Literal

from pydantic import Field

from seam.models.run import _Record


class DeployOrder(_Record):
    """What a deploy run deploys: a registered version, skipping Validate, training and Evaluate."""

    kind: Literal["approval", "rollback"]
    version: str  # the version label, e.g. "000003"
    model_package_arn: str | None = None  # an approval's package (its event names it)
    requested_by: str | None = None  # a rollback's caller; an approval's approver is read from the registry
    note: str = Field(default="", max_length=1024)  # a rollback's reason
