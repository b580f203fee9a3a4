"""A run: one retraining attempt of one model, from trigger to outcome.

`RunRequest` is what a trigger asks for; `WorkflowState` is the document the state machine passes from
state to state (each Lambda parses it, fills in its own section and returns it); `Run` is the record
in the runs table (run_record.py).
"""

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict


def utc_now() -> datetime:
    return datetime.now(UTC)


# A stage: the template's Stage parameter (AllowedPattern), part of every name Seam owns.
STAGE_PATTERN = r"^[a-z][a-z0-9]{0,9}$"
# SageMaker training job names: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}, so at most 63 characters; a Step
# Functions execution name allows 80 (no whitespace, brackets, wildcards or `"#%\^|~`$&,;:/`).
NAME_MAX = 63
_DIGEST_CHARS = 12


@lru_cache(maxsize=8192)  # a batch asks for each request's id many times (order, slots, records)
def run_id_for(stage: str, model: str, trigger: str, intent: str) -> str:
    """THE run id: `seam-<stage>-<model>-<sha256(stage, model, trigger, intent)[:12]>`, the name of the
    run's execution, training job and task token. Deterministic (a redelivered intent maps to the same
    run) and carrying the stage, so a dev and a prod stack in one account, with the same model and
    the same intent (a schedule slot), never share a job name. Every run id comes from here.

    At most 63 characters: a model name too long for the stage's room is cut (the digest still covers
    the whole name, so two cut names never meet)."""
    digest = hashlib.sha256(f"{stage}|{model}|{trigger}|{intent}".encode()).hexdigest()[:_DIGEST_CHARS]
    room = NAME_MAX - len(f"seam-{stage}--{digest}")
    return f"seam-{stage}-{model[:room]}-{digest}"


def stage_prefix(stage: str) -> str:
    """What every run id (and so every training job and execution name) of `stage` starts with."""
    return f"seam-{stage}-"


class TriggerKind(StrEnum):
    DATA = "data"  # S3 Object Created under datasets/<model>/
    SCHEDULE = "schedule"  # EventBridge Scheduler tick, model's cadence due
    DRIFT = "drift"  # CloudWatch alarm -> ALARM
    MANUAL = "manual"  # `seam trigger MODEL`
    APPROVAL = "approval"  # a version approved in the Model Registry (`seam approve`, Studio, the AWS CLI)
    ROLLBACK = "rollback"  # `seam rollback MODEL`: an earlier version deployed again


class RunStatus(StrEnum):
    STARTED = "STARTED"
    VALIDATING = "VALIDATING"
    # The champion, trained by another image digest, scored on the run's holdout by a Processing job of
    # that image before training starts (seam.domain.champion_scoring).
    SCORING = "SCORING"
    TRAINING = "TRAINING"
    EVALUATING = "EVALUATING"
    REGISTERING = "REGISTERING"
    DEPLOYING = "DEPLOYING"
    ROLLING_BACK = "ROLLING_BACK"
    DEPLOYED = "DEPLOYED"
    REGISTERED = "REGISTERED"  # registered, waiting for manual approval
    REJECTED = "REJECTED"  # the evaluation gate kept the champion
    SKIPPED = "SKIPPED"  # data unchanged since the champion was trained
    REFUSED = "REFUSED"  # a deploy run that may not deploy what it was asked to (the reason says why)
    FAILED = "FAILED"
    # A request a newer one of its kind took the place of (RunRequest.order): it never started, cost
    # nothing, and names the run that took its place (`superseded_by`).
    SUPERSEDED = "SUPERSEDED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        RunStatus.DEPLOYED,
        RunStatus.REGISTERED,
        RunStatus.REJECTED,
        RunStatus.SKIPPED,
        RunStatus.REFUSED,
        RunStatus.FAILED,
        RunStatus.SUPERSEDED,
    }
)

DEPLOY_TRIGGERS = frozenset({TriggerKind.APPROVAL, TriggerKind.ROLLBACK})


class _Record(BaseModel):
    # Built at first use (defer_build), not at import: every handler imports every record but uses a
    # few, and each build is about 1 ms of a cold start. bench/cold_start.py charges each handler for
    # those its first invocation builds (FIRST_INVOCATION_MODELS, which
    # tests/workflow/test_first_invocation_models.py checks against the handlers' real use).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class DatasetRef(_Record):
    """An S3 object a run trains on; version_id/etag pin exactly which bytes."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def fingerprint(self) -> str:
        """Identifies the data's content: same ETag (or version) means unchanged data."""
        return self.etag or self.version_id or self.key


# Records that live in modules of their own, loaded at first use from here (PEP 562), so a handler defines
# only the records it uses (each costs about 0.05 ms per field to define, bench/cold_start.py) and
# `from seam.models.run import Evaluation` keeps working: the sections of the workflow document, the
# document itself (built at its import), and the runs table's record with its cost.
_ELSEWHERE = {
    "DeployOrder": "seam.models.deploy_order",
    "RunRequest": "seam.models.run_request",
    "run_id_of_order": "seam.models.run_request",
    "TIE_GROUP": "seam.models.run_request",
    "TIE_RANK": "seam.models.run_request",
    "Decision": "seam.models.decision",
    "ChampionArtifact": "seam.models.snapshot",
    "Holdout": "seam.models.snapshot",
    "Snapshot": "seam.models.snapshot",
    "TrainingLimits": "seam.models.training_result",
    "TrainingResult": "seam.models.training_result",
    "ChampionScoring": "seam.models.training_result",
    "Evaluation": "seam.models.evaluation",
    "Registration": "seam.models.release",
    "DeploymentInfo": "seam.models.release",
    "ErrorInfo": "seam.models.error_info",
    "WorkflowState": "seam.models.workflow_state",
    "Run": "seam.models.run_record",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        from importlib import import_module

        return getattr(import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
