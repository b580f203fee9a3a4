"""Model configs keyed by name (ModelsTable), and which model owns each serving target.

One model per serving Deployment: two models patching one Deployment would each record the other's
release as "previous", and a rollback of one would restore the other's image (or a crashloop). So a
put claims its target in the same transaction as the config: an item keyed `serving|<cluster>|<ns>|
<deployment>` (never a model name, which has no `|`), conditional on being unclaimed or ours."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item, to_item
from seam.adapters.dynamodb.table import Table
from seam.errors import ConfigError, ModelNotFoundError, StaleUpdateError
from seam.models.run import utc_now

if TYPE_CHECKING:
    from seam.models.evaluation_spec import EvaluationSpec
    from seam.models.model_config import ModelConfig
    from seam.models.model_identity import ModelIdentity
    from seam.models.serving_target import ServingTarget
    from seam.models.training_config import TrainingConfig
    from seam.models.validation_config import ValidationConfig

Projection = TypeVar("Projection", bound=BaseModel)


class ModelStore(Table):
    """Model configs keyed by name. Small (one item per model): listed with a cached scan."""

    KEY = "model"

    _cache: tuple[float, list[ModelConfig]] | None = None
    CACHE_SECONDS = 60.0

    def get(self, name: str) -> ModelConfig:
        return self._parse(self._record(name))

    def evaluation(self, name: str) -> EvaluationSpec:
        """The model's gate alone (Evaluate's read): the rest of the config is not parsed."""
        from seam.models.evaluation_spec import EvaluationSpec

        try:
            return EvaluationSpec.model_validate(self._record(name)["config"]["evaluation"])
        except (ValidationError, KeyError, TypeError) as exc:
            raise ConfigError(f"stored config for {name!r} has an invalid evaluation: {exc}") from exc

    def identity(self, name: str) -> ModelIdentity:
        """The model's name, team, approval and serving target (Register's read), not the whole config."""
        from seam.models.model_identity import ModelIdentity

        return self._projection(name, ModelIdentity)

    def training(self, name: str) -> TrainingConfig:
        """The model's identity, training spec, cadence and budget (LaunchTraining's and ScoreChampion's
        read), not the whole config."""
        from seam.models.training_config import TrainingConfig

        return self._projection(name, TrainingConfig)

    def validation(self, name: str) -> ValidationConfig:
        """The model's data rules, data prefix, gate and training spec (Validate's read), not the whole
        config: not its serving target, cadence or budget."""
        from seam.models.validation_config import ValidationConfig

        return self._projection(name, ValidationConfig)

    def _projection(self, name: str, shape: type[Projection]) -> Projection:
        """The part of the stored config `shape` reads (its other fields are ignored)."""
        try:
            return shape.model_validate(self._record(name)["config"])
        except (ValidationError, KeyError, TypeError) as exc:
            raise ConfigError(f"stored config for {name!r} is invalid: {exc}") from exc

    def _record(self, name: str) -> dict[str, Any]:
        record = self.read(name, consistent=False)
        if record is None:
            raise ModelNotFoundError(f"model {name!r} is not onboarded")
        return record

    def put(self, config: ModelConfig, checked_for: Iterable[str] | None = None) -> None:
        """Save the config and claim its serving target; ConfigError when another model serves there.
        `checked_for`: the allowed clusters `seam models put` checked the config against (onboarding's
        check_config): stored as its `checked` digest, so the trigger need not check it again."""
        record: dict[str, Any] = {
            "model": config.name,
            "config": config.model_dump(mode="json"),
            "updated_at": utc_now(),
        }
        if checked_for is not None:  # the digest of the config as it is read back (codec round trip)
            stored = from_item(to_item({"config": record["config"]}))["config"]
            record["checked"] = checked_digest(stored, checked_for)
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": to_item(record)}}]
        claim = _claim_key(config.serving)
        if claim:
            writes.append({"Put": self._claim(claim, config.name)})
        old_claim = self._claimed_by(config.name)
        if old_claim and old_claim != claim:  # the model moved: free its old target
            writes.append({"Delete": self._release(old_claim, config.name)})
        try:
            with aws_call(f"TransactWriteItems {self.table}/{config.name} (config + serving claim)"):
                self.ddb.transact_write_items(TransactItems=writes)
        except StaleUpdateError as exc:
            owner = (self.read(claim) or {}).get("claimed_by") if claim else None
            if owner and owner != config.name:
                assert config.serving
                target = f"{config.serving.cluster}/{config.serving.namespace}/{config.serving.deployment}"
                raise ConfigError(
                    f"serving target {target} is already served by model {owner!r}: one model per "
                    "Deployment (give this model its own Deployment, or move that model first)"
                ) from exc
            raise
        self._cache = None

    def _claimed_by(self, model: str) -> str | None:
        """The target the model's stored config claims (None for a new model or one without serving)."""
        try:
            return _claim_key(self.get(model).serving)
        except (ModelNotFoundError, ConfigError):
            return None

    def _claim(self, claim: str, model: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": {"model": {"S": claim}, "claimed_by": {"S": model}},
            "ConditionExpression": "attribute_not_exists(model) OR claimed_by = :me",
            "ExpressionAttributeValues": {":me": {"S": model}},
        }

    def _release(self, claim: str, model: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": self.key(claim),
            "ConditionExpression": "attribute_not_exists(model) OR claimed_by = :me",
            "ExpressionAttributeValues": {":me": {"S": model}},
        }

    def list(self, fresh: bool = False) -> list[ModelConfig]:
        if not fresh and self._cache and time.monotonic() - self._cache[0] < self.CACHE_SECONDS:
            return self._cache[1]
        configs: list[ModelConfig] = []
        with aws_call(f"Scan {self.table}"):
            pages = self.ddb.get_paginator("scan").paginate(
                TableName=self.table,
                FilterExpression="attribute_not_exists(claimed_by)",  # configs, not serving claims
            )
            for page in pages:
                configs.extend(self._parse(from_item(i)) for i in page.get("Items", []))
        self._cache = (time.monotonic(), configs)
        return configs

    def for_alarm(self, alarm_name: str) -> list[ModelConfig]:
        return [c for c in self.list() if alarm_name in c.drift_alarms]

    @staticmethod
    def _parse(record: dict[str, Any]) -> ModelConfig:
        # Loaded at the first config read, as it is built (defer_build): the trigger reads none for a
        # data drop. The functions that read configs are charged for it (bench/cold_start.py).
        from seam.models.model_config import ModelConfig

        try:
            return ModelConfig.model_validate(record["config"])
        except (ValidationError, KeyError) as exc:
            raise ConfigError(f"stored config for {record.get('model')!r} is invalid: {exc}") from exc


def checked_digest(config: dict[str, Any], allowed_clusters: Iterable[str]) -> str:
    """What a config's `checked` marker holds: sha256 of the stored config (JSON values) and the allowed
    clusters it was checked against. A config written some other way (or changed since, or a stack
    whose AllowedClusters changed) has no marker or another digest: the trigger checks it."""
    text = json.dumps([config, sorted(allowed_clusters)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _claim_key(target: ServingTarget | None) -> str | None:
    return f"serving|{target.cluster}|{target.namespace}|{target.deployment}" if target else None
