"""A run: one retraining attempt of one model, from trigger to outcome.

`RunRequest` is what a trigger asks for; `WorkflowState` is the document the state machine passes from
state to state (each Lambda parses it, fills in its own section and returns it); `Run` is the record
in the runs table (run_record.py).
"""

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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

# `RunRequest.order` within one second, as (group, rank). Group 0: a schedule slot, whose time is exact
# and whole (the slot's first instant); 1: times with a fraction (drift alarms in ms; `seam trigger`,
# rollbacks, retries in µs; approvals in ms), compared at milliseconds, then by rank; 2: a data drop,
# whose S3 event time is the floor of its second (the write happened somewhere in it), so it is placed
# at the end of its second: a drop is never superseded by a request of its own second.
TIE_GROUP = {TriggerKind.SCHEDULE: 0, TriggerKind.DATA: 2}
TIE_RANK = {TriggerKind.MANUAL: 1, TriggerKind.DRIFT: 2, TriggerKind.APPROVAL: 1, TriggerKind.ROLLBACK: 2}


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


class DeployOrder(_Record):
    """What a deploy run deploys: a registered version, skipping Validate, training and Evaluate."""

    kind: Literal["approval", "rollback"]
    version: str  # the version label, e.g. "000003"
    model_package_arn: str | None = None  # an approval's package (its event names it)
    requested_by: str | None = None  # a rollback's caller; an approval's approver is read from the registry
    note: str = Field(default="", max_length=1024)  # a rollback's reason


class Decision(_Record):
    """A person's (or Seam's) decision on a version, as the run records it: who, what, why."""

    action: Literal["approve", "reject", "rollback"]
    version: str
    by: str  # the caller's identity (an IAM ARN), or what the registry names
    note: str = ""
    force: bool = False  # an approval deployed although the champion moved since its evaluation
    at: datetime = Field(default_factory=utc_now)


class RunRequest(_Record):
    """What a trigger asks for. The run id is derived from the intent, so a redelivered event (or the
    same intent arriving twice) maps to the same run."""

    stage: str = Field(pattern=STAGE_PATTERN)  # the stack's: part of the run id
    model: str
    trigger: TriggerKind
    intent: str = Field(description="what identifies the intent, e.g. bucket/key/version or tick time")
    dataset: DatasetRef | None = None  # known for data triggers; found by Validate otherwise
    detail: dict[str, str] = Field(default_factory=dict)
    # When the intent arose, by the event's own clock (S3 event time, alarm state time, slot start,
    # manual request time): the same for every redelivery, so it orders requests as they happened.
    requested_at: datetime = Field(default_factory=utc_now)
    sequencer: str | None = Field(default=None, max_length=64)  # S3's, hex: orders writes of one key
    deploy: DeployOrder | None = None  # a deploy run's order (approval or rollback triggers)
    retry_of: str | None = None  # `seam runs retry`: the failed run this one starts again
    force: bool = False  # `seam trigger --force`: retrain even on the data the champion saw

    @property
    def run_id(self) -> str:
        return run_id_for(self.stage, self.model, self.trigger, self.intent)

    @property
    def lock_slot(self) -> Literal["retrain", "deploy"]:
        """Which of the model lock's two pending slots the request waits in: a deploy run (an approval,
        a rollback, or a retry of one) and a retrain are different intents, so neither ever
        supersedes the other; each is ordered only against requests of its own slot."""
        return "deploy" if self.deploy is not None else "retrain"

    @property
    def order(self) -> str:
        """Sorts as the intents happened (string order, so a DynamoDB condition can compare it); only
        requests of one lock slot are ever compared (`lock_slot`).

        The clocks differ in precision: an S3 event's time (EventBridge's envelope) and a schedule
        slot have whole seconds, a drift alarm's state time and an approval's LastModifiedTime
        milliseconds, `seam trigger`, `seam rollback` and `seam runs retry` microseconds. Comparing
        them as they are made a drop look older than a manual request of the same second, which then
        superseded it: its data was never trained. So the order compares only what both sides have:
        1. the whole second (UTC), which every kind has;
        2. within one second (`TIE_GROUP`): a schedule slot first (its time is exact: the slot's first
           instant), then the requests whose times have a fraction, then data drops last (S3's time is
           the floor of the write's second, so the write may be the last thing in it): a drop is never
           superseded by a request of its own second;
        3. between requests with a fraction: the milliseconds (the finest precision all of them
           have), then `TIE_RANK` (retry < `seam trigger` < drift; approval < rollback), then the
           remaining microseconds (only ever between two requests of one kind: one clock);
        4. S3's sequencer (two writes of one key in one second; compared at equal length, as S3
           documents), then the run id, so two different requests never tie.
        The older request is SUPERSEDED: it never runs and its record names the run that won. A retrain
        that reads the newest object at Validate (schedule, drift, `seam trigger` without --dataset)
        trains on the superseded drop's data or newer; one that names its object (`--dataset KEY`, a
        retry) trains only that object, so the superseded drop's data waits for the next drop or tick
        (its SUPERSEDED record says which run took its place)."""
        at = self.requested_at.replace(tzinfo=self.requested_at.tzinfo or UTC).astimezone(UTC)
        group = TIE_GROUP.get(self.trigger, 1) if self.retry_of is None else 1
        rank = 0 if self.retry_of is not None else TIE_RANK.get(self.trigger, 0)
        fraction = f"{at.microsecond // 1000:03d}|{rank}|{at.microsecond % 1000:03d}"
        sequencer = (self.sequencer or "").upper().rjust(64, "0")
        return f"{at:%Y-%m-%dT%H:%M:%SZ}|{group}|{fraction}|{sequencer}|{self.run_id}"


def run_id_of_order(order: str) -> str:
    """The run id a `RunRequest.order` ends with (the lock keeps orders, not requests, of past holders)."""
    return order.rsplit("|", 1)[-1]


# Records that live in modules of their own, loaded at first use from here (PEP 562), so a handler defines
# only the records it uses (each costs about 0.05 ms per field to define, bench/cold_start.py) and
# `from seam.models.run import Evaluation` keeps working: the sections of the workflow document, the
# document itself (built at its import), and the runs table's record with its cost.
_ELSEWHERE = {
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
