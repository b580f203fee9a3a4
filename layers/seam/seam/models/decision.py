"""A person's (or Seam's) decision on a version, as a run records it, and as the registry keeps it in
the model package's metadata."""

import json
from datetime import datetime
from typing import Literal

from pydantic import Field

from seam.models.run import _Record, utc_now

DECISION_KEY = "seam:decision"  # CustomerMetadataProperties key of the decision `seam approve/reject` made
SEAM = "seam"  # who decided, when Seam itself did (a failed rollout marks its version Rejected)


class Decision(_Record):
    """A person's (or Seam's) decision on a version, as the run records it: who, what, why."""

    action: Literal["approve", "reject", "rollback"]
    version: str
    by: str  # the caller's identity (an IAM ARN), or what the registry names
    note: str = ""
    force: bool = False  # an approval deployed although the champion moved since its evaluation
    at: datetime = Field(default_factory=utc_now)


def decision_metadata(decision: Decision, force_over: str | None = None) -> dict[str, str]:
    """What `seam approve/reject` writes into the package's CustomerMetadataProperties with the status:
    who, why, and (--force) the champion the approval overrides."""
    recorded = {"action": decision.action, "by": decision.by, "note": decision.note[:400]}
    if force_over is not None:
        recorded["force_over"] = force_over
    return {DECISION_KEY: json.dumps(recorded)[:1024]}
