"""Onboarding: what can be checked about a model config before a paid training job.

`parse_config` turns a config document into a ModelConfig, every schema problem as one sentence that
names the field and says what would be right (a pattern is described, never shown as a regex).
`check_config` then checks what the schema cannot see alone, the things that otherwise fail a run after
training: the gate metric is one the training job reports, the label column is a column, the serving
cluster is allowed in this stack, and the serving Deployment and container exist. Each returns the
problems; nothing is written. `seam models put` refuses a config with any problem; the trigger checks a
stored record the same way (`stored_config_problems`) before a retrain of it starts, for a record
written some other way (the AWS CLI, a script): everything but the cluster call, which needs the
deployer's access to the cluster.

Loaded by the trigger at its first retrain request, not at its cold start (seam.domain.starting):
the imports here are what that check needs, the serving adapter's classes only for type checking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from seam.errors import ConfigRefusedError, SeamError, ServingError, TransientError
from seam.models.evaluation_spec import S3_KEY_PATTERN
from seam.models.model_config import ModelConfig
from seam.models.names import MODEL_NAME_PATTERN
from seam.models.serving_target import K8S_NAME_PATTERN, ServingTarget
from seam.models.training_config import IMAGE_BY_DIGEST_PATTERN

if TYPE_CHECKING:
    from seam.adapters.images import ImageRegistry
    from seam.adapters.serving.base import ServingAdapter
    from seam.settings import Settings

# What each pattern of the config schema means, said the way a person would fix it.
_K8S_NAME = (
    "a Kubernetes name (RFC 1123: lowercase letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters)"
)
PATTERN_MEANINGS = {
    IMAGE_BY_DIGEST_PATTERN: "be pinned by an @sha256 digest (<registry>/<repository>@sha256:<64 hex>)",
    MODEL_NAME_PATTERN: "be 2-40 characters: a lowercase letter, then lowercase letters, digits or '-'",
    K8S_NAME_PATTERN: "be " + _K8S_NAME,
    r"^ml\.[a-z0-9]+\.[a-z0-9]+$": "be a SageMaker instance type such as ml.m5.large",
    r"^s3://": "be an s3:// URI",
    S3_KEY_PATTERN: (
        "be a key in Seam's data bucket (segments of letters, digits and ! _ . * ' ( ) - joined by '/', "
        "no leading or trailing '/')"
    ),
    r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$": (
        "be an EKS cluster name (letters, digits, '-' and '_', starting with a letter or digit, "
        "at most 100 characters)"
    ),
    r"^[A-Za-z0-9_.:/=+@-]+$": "use only letters, digits and _ . : / = + @ -",
}


class ConfigRefused(ConfigRefusedError):
    """A config that cannot be onboarded: one sentence per problem, in `problems`."""

    def __init__(self, subject: str, problems: list[str]) -> None:
        super().__init__(f"{subject}: " + "; ".join(problems))
        self.problems = problems


def parse_config(data: Any, subject: str = "model config") -> ModelConfig:
    """The config, or ConfigRefused naming each field that is wrong and what would be right."""
    if not isinstance(data, dict):
        raise ConfigRefused(subject, [f"{subject} must be a mapping of fields, not {type(data).__name__}"])
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigRefused(subject, [describe_error(e) for e in exc.errors()]) from exc


def describe_error(error: ErrorDetails) -> str:
    """One pydantic error as a sentence: the field, then what it must be (patterns in words)."""
    field = ".".join(str(part) for part in error["loc"]) or "config"
    if error["type"] == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        meaning = PATTERN_MEANINGS.get(pattern, f"match {pattern}")
        return f"{field} must {meaning}, not {_shown(error['input'])}"
    message = error["msg"].removeprefix("Value error, ")
    last = str(error["loc"][-1]) if error["loc"] else ""
    if last and message.startswith(last + " "):  # the validator named its field already
        return field + message.removeprefix(last)
    return f"{field}: {message}"


def stored_config_problems(record: dict[str, Any], settings: Settings) -> list[str]:
    """The trigger's check of a config as stored (the models table's record, JSON values) before a
    retrain of it starts: the schema (a record written without `seam models put` may not even parse),
    then `check_config` without the serving cluster (read at `seam models put`, and by Deploy)."""
    try:
        config = parse_config(record.get("config"), f"stored config of {record.get('model')!r}")
    except ConfigRefused as exc:
        return exc.problems
    return check_config(config, settings, serving=None)


def check_config(
    config: ModelConfig,
    settings: Settings,
    serving: ServingAdapter | None,
    images: ImageRegistry | None = None,
) -> list[str]:
    """What would fail a run of this config after training, one sentence per problem (empty: none).
    `serving` is read (never written) to find the Deployment and ask whether Seam's deployer may patch
    it; `images` is asked whether the training image exists in its registry. None skips that check."""
    problems = _gate_problems(config) + _label_problems(config) + _paired_problems(config)
    if images is not None:
        problems += _image_problems(config.training.image, images)
    if config.serving is None:
        return problems
    allowed = settings.allowed_clusters
    if config.serving.cluster not in allowed:
        names = ", ".join(sorted(allowed)) or "none"
        problems.append(
            f"serving.cluster {config.serving.cluster!r} is not an allowed serving cluster of this stack "
            f"(allowed: {names}); name one of those, or add it to the stack parameter AllowedClusters"
        )
    elif serving is not None:
        problems.extend(_serving_problems(config.serving, serving))
    return problems


def _image_problems(image: str, images: ImageRegistry) -> list[str]:
    try:
        why = images.problem(image)
    except TransientError as exc:
        return [f"training.image: cannot check {image} now (try again): {exc}"]
    if why is None:
        return []
    return [
        f"training.image {image} cannot be pulled: {why}; push the image and pin the digest ECR reports "
        "for it (aws ecr describe-images), or name an image that is there"
    ]


def _gate_problems(config: ModelConfig) -> list[str]:
    metric, defined = config.evaluation.metric, config.training.metric_definitions
    if metric in defined:
        return []
    if config.evaluation.holdout_fraction is not None:  # a paired gate on a metric Seam computes itself
        from seam.domain.metrics import find_metric

        if find_metric(metric) is not None:
            return []
    if not defined:
        return [
            f"evaluation.metric {metric!r} is not reported by training: training.metric_definitions is "
            f"empty; add {metric!r} with a regex (one group) that finds it in the training log"
        ]
    return [
        f"evaluation.metric {metric!r} is not one of training.metric_definitions "
        f"({', '.join(sorted(defined))}); gate on one of those, or add {metric!r} with its regex"
    ]


def _paired_problems(config: ModelConfig) -> list[str]:
    """A paired gate on a metric Seam computes must agree with that metric's direction (else every run
    would fail at Evaluate)."""
    spec = config.evaluation
    if spec.holdout_fraction is None:
        return []
    from seam.domain.metrics import find_metric  # the metric registry: only a paired gate needs it

    metric = find_metric(spec.metric)
    if metric is None or metric.direction == spec.direction:
        return []
    return [
        f"evaluation.direction {spec.direction!r} contradicts evaluation.metric {spec.metric!r}: "
        f"Seam computes it as {metric.name}, which is to {metric.direction}"
    ]


def _label_problems(config: ModelConfig) -> list[str]:
    rules = config.validation
    names = [column.name for column in rules.columns]
    if rules.label_column is None or not names or rules.label_column in names:
        return []
    return [
        f"validation.label_column {rules.label_column!r} is not among validation.columns "
        f"({', '.join(names)}); add it as a column, or name one of those"
    ]


def _serving_problems(target: ServingTarget, serving: ServingAdapter) -> list[str]:
    where = f"{target.namespace}/{target.deployment}/{target.container} in cluster {target.cluster}"
    try:
        snapshot = serving.snapshot(target)
    except TransientError as exc:
        return [f"serving: cannot check deployment/container {where} now (try again): {exc}"]
    except ServingError as exc:
        return [f"serving: deployment/container {where} cannot be used: {exc}"]
    except SeamError as exc:  # e.g. the cluster cannot be described with these credentials
        return [f"serving: cannot read deployment/container {where}: {exc}"]
    found = snapshot.container.get("name")
    if found != target.container:
        return [
            f"serving.container {target.container!r} is not a container of deployment "
            f"{target.namespace}/{target.deployment} in cluster {target.cluster} (found {found!r})"
        ]
    return _patch_problems(target, serving)


def _patch_problems(target: ServingTarget, serving: ServingAdapter) -> list[str]:
    """Seam's deployer (Kubernetes group DEPLOYER_GROUP) may patch the Deployment: asked of the cluster
    with a LocalSubjectAccessReview, so RBAC (or any other authorizer) answers, not a guess."""
    from seam.adapters.serving.base import DEPLOYER_GROUP

    where = f"deployment {target.namespace}/{target.deployment} in cluster {target.cluster}"
    try:
        allowed, reason = serving.may_patch(target, DEPLOYER_GROUP)
    except SeamError as exc:  # e.g. the caller may not create access reviews in the namespace
        return [f"serving.deployment: cannot check whether group {DEPLOYER_GROUP} may patch {where}: {exc}"]
    if allowed:
        return []
    return [
        f"serving.deployment: group {DEPLOYER_GROUP} (Seam's deployer) may not patch {where}"
        + (f" ({reason})" if reason else "")
        + f"; grant it get and patch on that Deployment: manifests/seam-deployer-rbac.yaml with namespace "
        f"{target.namespace} and resourceNames [{target.deployment}]"
    ]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
