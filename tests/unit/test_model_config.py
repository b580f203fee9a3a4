"""ModelConfig: what an onboarded model may and may not say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from seam.models.model_config import ModelConfig

from tests.unit.conftest import IMAGE, model_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn" / "model.yaml"


def training(**overrides: Any) -> dict[str, Any]:
    return {"image": IMAGE, "max_runtime_seconds": 600, **overrides}


def rejected(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        model_config(**overrides)
    return str(caught.value)


def test_the_churn_example_validates_with_its_documented_values() -> None:
    config = ModelConfig.model_validate(yaml.safe_load(EXAMPLE.read_text()))

    assert config.name == "churn"
    assert config.dataset_prefix == "datasets/churn/"
    assert config.training.warm_pool_keep_alive_seconds == 900
    assert config.training.use_spot is False
    assert config.evaluation.metric == "validation:auc"
    assert config.retrain_every_minutes == 15  # every tick: inside the 900 s warm pool
    assert config.drift_alarms == ["churn-feature-drift"]


@pytest.mark.parametrize("name", ["ab", "churn", "churn-v2", "a" + "b" * 39])
def test_model_names_matching_the_pattern_are_accepted(name: str) -> None:
    assert model_config(name=name).name == name


@pytest.mark.parametrize(
    "name",
    ["a", "Churn", "1churn", "-churn", "churn_v2", "churn.v2", "chürn", "a" + "b" * 40, ""],
)
def test_model_names_outside_the_pattern_are_rejected(name: str) -> None:
    assert "name" in rejected(name=name)


@pytest.mark.parametrize(
    "image",
    [
        f"{IMAGE[: IMAGE.index('@')]}:latest",  # a tag moves; only a digest pins the bytes
        f"{IMAGE[: IMAGE.index('@')]}",
        IMAGE[:-1],  # digest one hex digit short
        IMAGE.replace("a" * 64, "A" * 64),  # digests are lowercase hex
        "churn@sha256:" + "a" * 64,  # no registry
    ],
)
def test_training_images_not_pinned_by_digest_are_rejected(image: str) -> None:
    assert "training.image" in rejected(training=training(image=image))


def test_a_registry_with_port_and_nested_repository_pinned_by_digest_is_accepted() -> None:
    image = "registry.example.com:5000/team/churn@sha256:" + "0" * 64
    assert model_config(training=training(image=image)).training.image == image


def test_spot_training_cannot_use_a_warm_pool() -> None:
    message = rejected(
        training=training(use_spot=True, max_wait_seconds=1200, warm_pool_keep_alive_seconds=300)
    )
    assert "use_spot and warm_pool_keep_alive_seconds cannot be combined" in message


@pytest.mark.parametrize("max_wait", [None, 599])
def test_spot_training_needs_a_max_wait_of_at_least_the_runtime(max_wait: int | None) -> None:
    message = rejected(training=training(use_spot=True, max_wait_seconds=max_wait))
    assert "use_spot needs max_wait_seconds >= max_runtime_seconds" in message


def test_spot_training_with_enough_max_wait_and_no_warm_pool_is_accepted() -> None:
    spec = model_config(training=training(use_spot=True, max_wait_seconds=600)).training
    assert (spec.use_spot, spec.max_wait_seconds) == (True, 600)


@pytest.mark.parametrize("minutes", [15, 30, 45, 60, 1440, 7 * 24 * 60])
def test_cadences_that_are_whole_ticks_are_accepted(minutes: int) -> None:
    assert model_config(retrain_every_minutes=minutes).retrain_every_minutes == minutes


@pytest.mark.parametrize(
    ("minutes", "complaint"),
    [
        (20, "multiple of 15"),
        (61, "multiple of 15"),
        (10, "greater than or equal to 15"),
        (0, "greater than or equal to 15"),
        (7 * 24 * 60 + 15, "less than or equal to 10080"),
    ],
)
def test_cadences_that_are_not_whole_ticks_or_out_of_range_are_rejected(minutes: int, complaint: str) -> None:
    assert complaint in rejected(retrain_every_minutes=minutes)


def test_the_data_prefix_may_only_be_datasets_slash_name() -> None:
    assert model_config(data_prefix="datasets/churn/").dataset_prefix == "datasets/churn/"
    assert model_config(data_prefix=None).dataset_prefix == "datasets/churn/"


@pytest.mark.parametrize(
    "prefix", ["datasets/other/", "datasets/churn", "data/churn/", "datasets/churn/2026/"]
)
def test_a_data_prefix_other_than_datasets_slash_name_is_rejected(prefix: str) -> None:
    assert "data_prefix must be 'datasets/churn/'" in rejected(data_prefix=prefix)


@pytest.mark.parametrize(
    "overrides",
    [
        {"owner": "growth"},
        {"training": training(gpus=1)},
        {"evaluation": {"metric": "auc", "threshold": 0.5}},
        {"serving": {"cluster": "c", "namespace": "n", "deployment": "d", "container": "m", "replicas": 2}},
        {"validation": {"columns": [{"name": "x", "nullable": True}]}},
    ],
)
def test_unknown_fields_are_rejected_at_every_level(overrides: dict[str, Any]) -> None:
    assert "Extra inputs are not permitted" in rejected(**overrides)


def test_up_to_100_hyperparameters_at_the_length_limits_are_accepted() -> None:
    params = {f"k{i}": "v" for i in range(99)} | {"k" * 256: "v" * 2500}
    assert len(model_config(training=training(hyperparameters=params)).training.hyperparameters) == 100


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({f"k{i}": "v" for i in range(101)}, "at most 100 hyperparameters"),
        ({"k" * 257: "v"}, "is too long"),
        ({"learning_rate": "1" * 2501}, "hyperparameter 'learning_rate' is too long"),
    ],
)
def test_hyperparameters_over_the_create_training_job_limits_are_rejected(
    params: dict[str, str], complaint: str
) -> None:
    assert complaint in rejected(training=training(hyperparameters=params))


def test_hyperparameter_values_must_be_strings() -> None:
    assert "hyperparameters" in rejected(training=training(hyperparameters={"C": 1.0}))


def test_configs_are_immutable() -> None:
    config = model_config()
    with pytest.raises(ValidationError):
        config.name = "other"  # type: ignore[misc]


def test_training_runs_without_network_unless_the_config_says_why() -> None:
    assert model_config().training.network_isolation is True

    with pytest.raises(ValidationError, match="network_isolation: false needs network_access_reason"):
        model_config(training={"image": IMAGE, "network_isolation": False})
    opened = model_config(
        training={
            "image": IMAGE,
            "network_isolation": False,
            "network_access_reason": "downloads the tokenizer from the team's artifact mirror",
        }
    )
    assert opened.training.network_isolation is False
    with pytest.raises(ValidationError, match="only for network_isolation: false"):
        model_config(training={"image": IMAGE, "network_access_reason": "no reason to give at all"})


# -- the reads of parts of a config (ModelStore.identity, .training, .validation) -------------------------


def test_each_part_read_of_the_example_is_the_whole_configs_same_fields() -> None:
    """Register, LaunchTraining/ScoreChampion and Validate read parts of the stored config; each part is
    ModelConfig's base, so it has exactly the whole config's fields and values for what it reads."""
    from seam.models.model_identity import ModelIdentity
    from seam.models.training_config import TrainingConfig
    from seam.models.validation_config import ValidationConfig

    stored = ModelConfig.model_validate(yaml.safe_load(EXAMPLE.read_text())).model_dump(mode="json")
    whole = ModelConfig.model_validate(stored)
    for part in (ModelIdentity, TrainingConfig, ValidationConfig):
        read = part.model_validate(stored)
        assert set(part.model_fields) < set(ModelConfig.model_fields), part.__name__
        assert read.model_dump() == whole.model_dump(include=set(part.model_fields)), part.__name__
    assert list(ModelConfig.model_fields) == [
        *ModelIdentity.model_fields,
        *(f for f in TrainingConfig.model_fields if f not in ModelIdentity.model_fields),
        "data_prefix",
        "validation",
        "evaluation",
        "drift_alarms",
    ]  # the order `seam models show` prints


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"data_prefix": "datasets/other/"}, "data_prefix must be 'datasets/churn/'"),
        (
            {"validation": {"format": "parquet"}, "evaluation": {"metric": "auc", "holdout_fraction": 0.2}},
            "holdout_fraction needs validation.format csv",
        ),
    ],
)
def test_validates_part_read_refuses_what_the_whole_config_refuses(
    overrides: dict[str, Any], complaint: str
) -> None:
    from seam.models.validation_config import ValidationConfig

    stored = {**yaml.safe_load(EXAMPLE.read_text()), **overrides}
    for shape in (ModelConfig, ValidationConfig):
        with pytest.raises(ValidationError, match=complaint):
            shape.model_validate(stored)
