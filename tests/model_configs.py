"""The model configs tests onboard: one shape, each suite's validation and evaluation rules."""

from __future__ import annotations

from typing import Any

from seam.models.model_config import ModelConfig

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn@sha256:" + "a" * 64


def model_config(
    name: str, image: str, csv_rules: dict[str, Any], gate: dict[str, Any], **overrides: Any
) -> ModelConfig:
    """A valid config of model `name` (AUC-gated, served by `<name>-predictor` in the local cluster);
    `csv_rules` and `gate` add to its validation and evaluation, `overrides` replace top-level fields
    (nested ones are replaced whole)."""
    data: dict[str, Any] = {
        "name": name,
        "team": "growth",
        "training": {
            "image": image,
            "max_runtime_seconds": 600,
            "metric_definitions": {"validation:auc": r"validation:auc=([0-9\.]+)"},
        },
        "validation": {"format": "csv", "label_column": "churned", **csv_rules},
        "evaluation": {
            "metric": "validation:auc",
            "direction": "maximize",
            "min_improvement": 0.01,
            **gate,
        },
        "serving": {
            "cluster": "seam-local",
            "namespace": "ml-serving",
            "deployment": f"{name}-predictor",
            "container": "model",
        },
        "drift_alarms": [f"{name}-feature-drift"],
        "retrain_every_minutes": 60,
    }
    data.update(overrides)
    return ModelConfig.model_validate(data)
