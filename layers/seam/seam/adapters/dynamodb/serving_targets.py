"""A model's serving target, read from its config (ModelsTable) without parsing the rest of it.

Deploy, CheckRollout and Rollback need only where the model serves; validating the whole config
would cost them the ModelConfig classes and build (about 6 ms of each cold start). The config was
validated whole when it was put (ModelStore.put); this checks again the part these functions use.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import ValidationError

from seam.adapters.dynamodb.table import Table
from seam.errors import ConfigError, ModelNotFoundError
from seam.models.serving_target import ServingTarget


class Serving(NamedTuple):
    """What the serving functions read of a model's config, in one GetItem."""

    target: ServingTarget | None  # None when the config has no serving section
    training_image: str | None  # the image the config pins (by digest): the only one a retrain may serve


class ServingTargetStore(Table):
    KEY = "model"

    def get(self, model: str) -> ServingTarget | None:
        """The model's serving target (None when its config has none)."""
        return self.serving(model).target

    def serving(self, model: str) -> Serving:
        record = self.read(model, consistent=False)
        if record is None:
            raise ModelNotFoundError(f"model {model!r} is not onboarded")
        try:
            serving = record["config"].get("serving")
            target = None if serving is None else ServingTarget.model_validate(serving)
        except (ValidationError, KeyError, AttributeError) as exc:
            raise ConfigError(f"stored config for {model!r} has an invalid serving target: {exc}") from exc
        image = (record["config"].get("training") or {}).get("image")
        return Serving(target, str(image) if image else None)
