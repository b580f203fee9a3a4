"""The workflow document's `error` section: what a Catch put there."""

import json

from pydantic import ConfigDict, Field

from seam.models.run import _Record


class ErrorInfo(_Record):
    """Step Functions' Catch output: {"Error": name, "Cause": text}."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    error: str = Field(alias="Error")
    cause: str | None = Field(default=None, alias="Cause")  # absent for e.g. States.Timeout

    @property
    def message(self) -> str:
        """A Lambda error's Cause is JSON with errorMessage; other causes are plain text."""
        if not self.cause:
            return ""
        try:
            return str(json.loads(self.cause).get("errorMessage", self.cause))
        except (ValueError, AttributeError):
            return self.cause
