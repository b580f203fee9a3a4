"""A person's (or Seam's) decision on a version, as a run records it."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from seam.models.run import _Record, utc_now


class Decision(_Record):
    """A person's (or Seam's) decision on a version, as the run records it: who, what, why."""

    action: Literal["approve", "reject", "rollback"]
    version: str
    by: str  # the caller's identity (an IAM ARN), or what the registry names
    note: str = ""
    force: bool = False  # an approval deployed although the champion moved since its evaluation
    at: datetime = Field(default_factory=utc_now)
