"""seam.domain.onboarding: schema problems in words, and what would fail a run after training."""

from __future__ import annotations

from typing import Any

import pytest
from seam.domain.onboarding import ConfigRefused, check_config, parse_config
from seam.errors import TransientError
from seam.models.serving_target import ServingTarget
from seam.settings import Settings

from tests import model_configs
from tests.workflow.in_memory_serving import InMemoryServing

SETTINGS = Settings.from_environ(
    {
        "SEAM_MODELS_TABLE": "m",
        "SEAM_RUNS_TABLE": "r",
        "SEAM_VERSIONS_TABLE": "v",
        "SEAM_TOKENS_TABLE": "t",
        "SEAM_LOCKS_TABLE": "l",
        "SEAM_DATA_BUCKET": "b",
        "SEAM_STATE_MACHINE_ARN": "arn",
        "SEAM_ALLOWED_CLUSTERS": "seam-local,prod",
    }
)
COLUMNS = {"columns": [{"name": "tenure"}, {"name": "churned"}]}


def document(**overrides: Any) -> dict[str, Any]:
    return (
        model_configs.model_config("churn", model_configs.IMAGE, COLUMNS, {}).model_dump(mode="json")
        | overrides
    )


def serving_with_the_deployment() -> InMemoryServing:
    serving = InMemoryServing()
    config = parse_config(document())
    assert config.serving
    serving.add(config.serving, image="registry/churn:previous")
    return serving


def refusals(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigRefused) as refused:
        parse_config(data, subject="churn.yaml")
    assert str(refused.value).startswith("churn.yaml: ")
    return refused.value.problems


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        ("training", "image", "repo/churn:latest", "training.image must be pinned by an @sha256 digest ("),
        ("training", "instance_type", "m5.large", "training.instance_type must be a SageMaker instance type"),
        ("serving", "namespace", "ML_Serving", "serving.namespace must be a Kubernetes name (RFC 1123"),
        ("serving", "cluster", "-bad", "serving.cluster must be an EKS cluster name"),
    ],
)
def test_pattern_problems_say_what_is_right_not_the_regex(
    section: str, field: str, value: str, expected: str
) -> None:
    data = document()
    data[section] = {**data[section], field: value}

    (problem,) = refusals(data)

    assert problem.startswith(expected) and problem.endswith(f"not {value!r}")
    assert "^" not in problem and "{" not in problem


def test_every_schema_problem_is_named() -> None:
    data = document(name="Churn", retrain_every_minutes=20, training={"image": "x"})
    problems = refusals(data)
    assert problems[0].startswith("name must be 2-40 characters: a lowercase letter")
    assert any(p.startswith("training.image must be pinned") for p in problems)
    assert "retrain_every_minutes must be a multiple of 15" in problems
    assert refusals([1]) == ["churn.yaml must be a mapping of fields, not list"]  # type: ignore[arg-type]


def test_a_config_that_would_train_and_deploy_has_no_problems() -> None:
    assert check_config(parse_config(document()), SETTINGS, serving_with_the_deployment()) == []


def test_what_would_fail_after_training_is_found_before() -> None:
    data = document(serving={**document()["serving"], "cluster": "staging"})
    data["evaluation"]["metric"] = "validation:f1"
    data["validation"]["label_column"] = "label"
    problems = check_config(parse_config(data), SETTINGS, InMemoryServing())
    assert problems == [
        "evaluation.metric 'validation:f1' is not one of training.metric_definitions (validation:auc); "
        "gate on one of those, or add 'validation:f1' with its regex",
        "validation.label_column 'label' is not among validation.columns (tenure, churned); add it as a "
        "column, or name one of those",
        "serving.cluster 'staging' is not an allowed serving cluster of this stack (allowed: prod, "
        "seam-local); name one of those, or add it to the stack parameter AllowedClusters",
    ]


def test_no_metric_definitions_and_no_columns() -> None:
    data = document()
    data["training"]["metric_definitions"] = {}
    data["validation"]["columns"] = []  # nothing to check the label against
    (problem,) = check_config(parse_config(data), SETTINGS, serving_with_the_deployment())
    assert problem.startswith("evaluation.metric 'validation:auc' is not reported by training: ")


def test_the_serving_deployment_and_container_must_exist() -> None:
    config = parse_config(document())
    (missing,) = check_config(config, SETTINGS, InMemoryServing())
    assert missing.startswith(
        "serving: deployment/container ml-serving/churn-predictor/model in cluster seam-local"
    )

    other = InMemoryServing()
    assert config.serving
    other.add(ServingTarget(**{**config.serving.model_dump(), "container": "server"}), image="registry/x:1")
    (wrong,) = check_config(config, SETTINGS, other)
    assert wrong.startswith(
        "serving.container 'model' is not a container of deployment ml-serving/churn-predictor"
    )


def test_an_unreachable_cluster_is_a_problem_to_retry() -> None:
    class Unreachable(InMemoryServing):
        def snapshot(self, target: ServingTarget) -> Any:
            raise TransientError("connection refused")

    (problem,) = check_config(parse_config(document()), SETTINGS, Unreachable())
    assert "cannot check deployment/container" in problem and "(try again)" in problem


def test_a_model_without_serving_is_not_looked_up() -> None:
    config = parse_config(document(serving=None))
    assert check_config(config, SETTINGS, None) == []


def evaluation(**fields: Any) -> dict[str, Any]:
    return document()["evaluation"] | fields


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"holdout_fraction": 0.2, "confidence": 1.0}, "evaluation.confidence: Input should be less than 1"),
        (
            {"holdout_fraction": 0.2, "confidence": 0.4},
            "evaluation.confidence: Input should be greater than 0.5",
        ),
        ({"holdout_fraction": 0.0}, "evaluation.holdout_fraction: Input should be greater than 0"),
        (
            {"holdout_fraction": 0.2, "holdout_max_rows": 0},
            "evaluation.holdout_max_rows: Input should be greater",
        ),
        ({"confidence": 0.95}, "evaluation: confidence needs holdout_fraction"),
        (
            {"holdout_fraction": 0.2, "golden_dataset": "/golden/churn/a.csv"},
            "evaluation.golden_dataset must be a key in Seam's data bucket",
        ),
        (
            {"holdout_fraction": 0.2, "golden_dataset": "golden/churn/../fraud/a.csv"},
            "evaluation: golden_dataset must not contain a '..' segment",
        ),
        (
            {"holdout_fraction": 0.2, "golden_dataset": "datasets/churn/golden.csv"},
            "config: evaluation.golden_dataset must lie outside 'datasets/churn/'",
        ),
        (
            {"holdout_fraction": 0.2, "golden_dataset": "golden/fraud/a.csv"},
            "config: evaluation.golden_dataset must be a key under golden/churn/",
        ),
    ],
)
def test_paired_evaluation_fields_are_refused_when_wrong(fields: dict[str, Any], expected: str) -> None:
    problems = refusals(document(evaluation=evaluation(**fields)))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_holdout_needs_csv() -> None:
    data = document(evaluation=evaluation(holdout_fraction=0.2))
    data["validation"] = data["validation"] | {"format": "parquet"}
    assert "config: evaluation.holdout_fraction needs validation.format csv" in refusals(data)[0]


def test_a_paired_config_defaults_the_cap_and_accepts_a_golden_set() -> None:
    config = parse_config(
        document(
            evaluation=evaluation(holdout_fraction=0.2, confidence=0.95, golden_dataset="golden/churn/g.csv")
        )
    )
    assert config.evaluation.holdout_max_rows == 20_000
    assert check_config(config, SETTINGS, serving_with_the_deployment()) == []


def test_a_paired_gate_against_its_metrics_direction_is_a_problem() -> None:
    config = parse_config(document(evaluation=evaluation(holdout_fraction=0.2, direction="minimize")))
    problems = check_config(config, SETTINGS, serving_with_the_deployment())
    assert problems == [
        "evaluation.direction 'minimize' contradicts evaluation.metric 'validation:auc': Seam computes it as "
        "auc, which is to maximize"
    ]


def test_a_paired_gate_on_a_metric_seam_computes_needs_no_metric_definition() -> None:
    # Seam scores the holdout itself (per-row predictions): training need not log the metric.
    config = parse_config(document(evaluation=evaluation(holdout_fraction=0.2, metric="accuracy")))
    assert check_config(config, SETTINGS, serving_with_the_deployment()) == []
    # Without a holdout the gate reads the job's logged metric: it must be defined.
    unpaired = parse_config(document(evaluation=evaluation(metric="accuracy")))
    [problem] = check_config(unpaired, SETTINGS, serving_with_the_deployment())
    assert problem.startswith("evaluation.metric 'accuracy' is not one of training.metric_definitions")


class Images:
    """ImageRegistry's answer for every image: None (there), a reason, or an exception."""

    def __init__(self, answer: str | Exception | None) -> None:
        self.answer = answer

    def problem(self, image: str) -> str | None:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_the_training_image_must_exist_in_its_registry() -> None:
    config = parse_config(document())
    assert check_config(config, SETTINGS, serving_with_the_deployment(), Images(None)) == []  # type: ignore[arg-type]
    [missing] = check_config(config, SETTINGS, serving_with_the_deployment(), Images("no such digest"))  # type: ignore[arg-type]
    assert missing == (
        f"training.image {config.training.image} cannot be pulled: no such digest; push the image and pin "
        "the digest ECR reports for it (aws ecr describe-images), or name an image that is there"
    )
    [later] = check_config(config, SETTINGS, None, Images(TransientError("throttled")))  # type: ignore[arg-type]
    assert later.startswith("training.image: cannot check") and "(try again)" in later


def test_seams_deployer_must_be_allowed_to_patch_the_deployment() -> None:
    serving = serving_with_the_deployment()
    assert isinstance(serving, InMemoryServing)
    target = parse_config(document()).serving
    assert target is not None
    serving.forbidden.add((target.cluster, target.namespace, target.deployment))

    [problem] = check_config(parse_config(document()), SETTINGS, serving)
    assert problem.startswith(
        f"serving.deployment: group seam-deployer (Seam's deployer) may not patch deployment "
        f"{target.namespace}/{target.deployment} in cluster {target.cluster}; grant it get and patch"
    )
