"""Model configs keyed by name (ModelsTable)."""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item, to_item
from seam.adapters.dynamodb.table import Table
from seam.errors import ConfigError, ModelNotFoundError
from seam.models.model_config import ModelConfig
from seam.models.run import utc_now


class ModelStore(Table):
    """Model configs keyed by name. Small (one item per model): listed with a cached scan."""

    KEY = "model"

    _cache: tuple[float, list[ModelConfig]] | None = None
    CACHE_SECONDS = 60.0

    def get(self, name: str) -> ModelConfig:
        record = self.read(name, consistent=False)
        if record is None:
            raise ModelNotFoundError(f"model {name!r} is not onboarded")
        return self._parse(record)

    def put(self, config: ModelConfig) -> None:
        record = {"model": config.name, "config": config.model_dump(mode="json"), "updated_at": utc_now()}
        with aws_call(f"PutItem {self.table}/{config.name}"):
            self.ddb.put_item(TableName=self.table, Item=to_item(record))
        self._cache = None

    def list(self, fresh: bool = False) -> list[ModelConfig]:
        if not fresh and self._cache and time.monotonic() - self._cache[0] < self.CACHE_SECONDS:
            return self._cache[1]
        configs: list[ModelConfig] = []
        with aws_call(f"Scan {self.table}"):
            for page in self.ddb.get_paginator("scan").paginate(TableName=self.table):
                configs.extend(self._parse(from_item(i)) for i in page.get("Items", []))
        self._cache = (time.monotonic(), configs)
        return configs

    def for_alarm(self, alarm_name: str) -> list[ModelConfig]:
        return [c for c in self.list() if alarm_name in c.drift_alarms]

    @staticmethod
    def _parse(record: dict[str, Any]) -> ModelConfig:
        try:
            return ModelConfig.model_validate(record["config"])
        except (ValidationError, KeyError) as exc:
            raise ConfigError(f"stored config for {record.get('model')!r} is invalid: {exc}") from exc
