"""The environment settings every handler reads once: what the template sets, checked as it is read."""

from __future__ import annotations

import pytest
from seam.errors import ConfigError
from seam.settings import Settings

REQUIRED = {
    "SEAM_MODELS_TABLE": "models",
    "SEAM_RUNS_TABLE": "runs",
    "SEAM_VERSIONS_TABLE": "versions",
    "SEAM_TOKENS_TABLE": "tokens",
    "SEAM_LOCKS_TABLE": "locks",
    "SEAM_DATA_BUCKET": "data",
    "SEAM_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:seam",
}


def test_the_required_variables_and_the_defaults() -> None:
    settings = Settings.from_environ(REQUIRED)
    assert (settings.models_table, settings.data_bucket) == ("models", "data")
    assert (settings.stage, settings.event_bus_name, settings.model_package_group_prefix) == (
        "dev",
        "default",
        "seam-",
    )
    assert (settings.training_stale_after_seconds, settings.rollout_max_checks) == (1800, 40)
    assert (settings.rollout_wait_seconds, settings.schedule_spread_seconds) == (15, 600)
    assert settings.allowed_clusters == frozenset()


def test_integers_are_read_from_their_variables() -> None:
    settings = Settings.from_environ({**REQUIRED, "SEAM_ROLLOUT_MAX_CHECKS": "3", "SEAM_STAGE": "prod"})
    assert (settings.rollout_max_checks, settings.stage) == (3, "prod")


def test_every_wrong_variable_is_named_in_one_error() -> None:
    env = {
        **REQUIRED,
        "SEAM_STAGE": "Prod",
        "SEAM_ROLLOUT_WAIT_SECONDS": "soon",
        "SEAM_SCHEDULE_SPREAD_SECONDS": "900",
        "SEAM_TRAINING_STALE_AFTER_SECONDS": "10",
    }
    del env["SEAM_RUNS_TABLE"]
    with pytest.raises(ConfigError) as raised:
        Settings.from_environ(env)
    message = str(raised.value)
    assert "SEAM_RUNS_TABLE (missing)" in message
    assert "SEAM_STAGE ('Prod' does not match" in message
    assert "SEAM_ROLLOUT_WAIT_SECONDS ('soon' is not an integer)" in message
    assert "SEAM_SCHEDULE_SPREAD_SECONDS (900 is not between 0 and 840)" in message
    assert "SEAM_TRAINING_STALE_AFTER_SECONDS (10 is not at least 60)" in message


def test_the_allowed_clusters_are_a_set_and_none_means_none() -> None:
    assert Settings.from_environ({**REQUIRED, "SEAM_ALLOWED_CLUSTERS": "a, b,,a"}).allowed_clusters == {
        "a",
        "b",
    }
    assert (
        Settings.from_environ({**REQUIRED, "SEAM_ALLOWED_CLUSTERS": "none"}).allowed_clusters == frozenset()
    )
