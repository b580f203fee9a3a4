"""Deploy runs: a version approved in the registry, or rolled back to, deployed through the same
Deploy -> verify -> Rollback -> Finalize states as every run (one workflow: RunKind sends a run with a
deploy order past Validate, training and Evaluate straight to Register, which resolves the version here).

Invariants (tests/workflow prove them):
- one approval change is one run: its id comes from the package ARN and the change's time, so the
  copies SageMaker sends of one change (and redeliveries) start it once;
- a deploy run takes the model's lock like any run, so two approvals at once deploy one after the other;
- what deploys is checked under the lock, against the registry (the source of truth) and the champion
  pointer: a version that does not exist, already serves, is not Approved (or, for a rollback, never
  served), or whose evaluation was against a champion that no longer serves, is REFUSED with the reason,
  and nothing changes. `seam approve --force` records that the person deploys it anyway.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.adapters.sagemaker import ModelRegistry
from seam.errors import BadEventError, DeployRefusedError
from seam.models.champion import Champion
from seam.models.decision import DECISION_KEY, Decision
from seam.models.deploy_order import DeployOrder
from seam.models.names import MODEL_NAME_PATTERN
from seam.models.release import Registration
from seam.models.run import RunStatus, TriggerKind
from seam.models.run_request import RunRequest
from seam.models.training_result import TrainingResult
from seam.models.version import ModelVersion, version_label

# Named for the signatures only: Register resolves deploy runs without loading the event models, and
# Finalize and the trigger, which load this module for its other parts, never load a config's classes.
if TYPE_CHECKING:
    from seam.adapters.dynamodb.locks import LockStore
    from seam.models.events import ModelPackageStateChangeEvent
    from seam.models.model_identity import ModelIdentity
    from seam.models.views.register import RegisterState

_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def model_of_group(group: str, prefix: str) -> str:
    """The model a package group of this stack belongs to (`seam-dev-churn` -> `churn`)."""
    model = group.removeprefix(prefix)
    if not group.startswith(prefix) or not _MODEL_NAME.match(model):
        raise BadEventError(f"model package group {group[:63]!r} is not one of Seam's ({prefix}<model>)")
    return model


def change_stamp(at: datetime | None) -> str:
    """An approval change's time as the run id uses it, whatever shape it arrived in (the event's
    text or DescribeModelPackage's timestamp): UTC, milliseconds."""
    if at is None:
        return "-"
    return at.replace(tzinfo=at.tzinfo or UTC).astimezone(UTC).isoformat(timespec="milliseconds")


def approval_request(
    stage: str, model: str, version: str, package_arn: str, changed_at: datetime | None, received_at: datetime
) -> RunRequest:
    """The deploy run an approval change asks for; the trigger and `seam approve` (which prints its id)
    both derive it here. It is ordered by when the change happened (milliseconds), not by the event's
    envelope time, which has whole seconds only: two changes within a second keep their order."""
    return RunRequest(
        stage=stage,
        model=model,
        trigger=TriggerKind.APPROVAL,
        intent=f"approval|{package_arn}|{change_stamp(changed_at)}",
        deploy=DeployOrder(kind="approval", version=version, model_package_arn=package_arn),
        requested_at=changed_at or received_at,
    )


def decision_of(package: dict[str, Any], version: str) -> tuple[Decision, str | None]:
    """Who made the package's current approval status, and why, as the registry says: Seam's decision
    metadata when it matches that status (`seam approve/reject`), else the registry's LastModifiedBy
    (Studio, the AWS CLI). Also the champion a `--force` approval overrides (None: no force)."""
    status = package.get("ModelApprovalStatus")
    action = {"Approved": "approve", "Rejected": "reject"}.get(str(status), "approve")
    try:
        recorded = json.loads((package.get("CustomerMetadataProperties") or {}).get(DECISION_KEY, "{}"))
    except ValueError:
        recorded = {}
    note = package.get("ApprovalDescription") or ""
    if isinstance(recorded, dict) and recorded.get("action") == action:
        by = str(recorded.get("by") or "unknown")
        decision = Decision(action=action, version=version, by=by, note=note, force="force_over" in recorded)
        return decision, recorded.get("force_over")
    return Decision(action=action, version=version, by=registry_identity(package), note=note), None


def registry_identity(package: dict[str, Any]) -> str:
    who = package.get("LastModifiedBy") or package.get("CreatedBy") or {}
    iam = who.get("IamIdentity") or {}
    return str(iam.get("Arn") or who.get("UserProfileName") or "unknown (the registry names nobody)")


class PackageChanges:
    """The trigger's side: which registry changes start a deploy run, and the rejections it records."""

    def __init__(
        self,
        versions: VersionStore,
        locks: LockStore,
        runs: RunStore,
        group_prefix: str,
        stage: str,  # this stack's: its deploy runs' ids carry it
    ) -> None:
        self.versions, self.locks, self.runs = versions, locks, runs
        self.group_prefix, self.stage = group_prefix, stage

    def requests_for(self, event: ModelPackageStateChangeEvent) -> list[RunRequest] | str:
        """The deploy run an approval asks for, or why it asks for none (a str)."""
        detail = event.detail
        model = model_of_group(detail.ModelPackageGroupName, self.group_prefix)
        label = version_label(detail.ModelPackageVersion)
        version = self.versions.get_version(model, label)
        if version is None or version.model_package_arn != detail.ModelPackageArn:
            return f"version {label} of {model} was not registered by Seam"
        if detail.ModelApprovalStatus == "PendingManualApproval":
            return f"version {label} of {model} waits for approval"
        if detail.ModelApprovalStatus == "Rejected":
            return self._record_rejection(version, detail.model_dump(), detail.changed_at)
        champion = self.versions.champion(model)
        if champion is not None and champion.version == label:
            return f"version {label} of {model} already serves"
        lock = self.locks.get(model)
        if lock is not None and lock.holder == version.run_id:
            return f"version {label} of {model} is being deployed by the run that registered it"
        return [
            approval_request(
                self.stage, model, label, version.model_package_arn, detail.changed_at, event.time
            )
        ]

    def _record_rejection(self, version: ModelVersion, package: dict[str, Any], at: datetime | None) -> str:
        decision, _ = decision_of(package, version.version)
        self.runs.add_decision(version.run_id, f"reject|{change_stamp(at)}", decision)
        return f"rejection of version {version.version} of {version.model} by {decision.by} recorded"


def resolve_deploy(
    state: RegisterState,
    config: ModelIdentity,
    versions: VersionStore,
    runs: RunStore,
    registry: ModelRegistry,
) -> RegisterState:
    """The Register state of a deploy run: check the order under the model's lock (DeployRefusedError
    says why not) and fill in what Deploy and Finalize read, as a retrain run's states would have:
    the version's training result, its registration, and its evaluation against the champion it now
    replaces. The decision (who, why, forced) is recorded on the run."""
    order = state.deploy
    if order is None:
        raise DeployRefusedError(f"run {state.run_id} is a {state.trigger} run without a deploy order")
    model = state.model
    version = versions.get_version(model, order.version)
    if version is None:
        raise DeployRefusedError(f"model {model} has no version {order.version}")
    champion = versions.champion(model)
    if champion is not None and champion.version == version.version:
        raise DeployRefusedError(f"version {version.version} of {model} already serves")
    package = registry.describe_version(version.model_package_arn)
    status = package.get("ModelApprovalStatus")
    if order.kind == "approval":
        decision = _check_approval(version, status, package, champion)
    else:
        decision = _check_rollback(version, status, order)
    evaluation = version.evaluation or getattr(runs.get(version.run_id), "evaluation", None)
    if evaluation is None:
        raise DeployRefusedError(f"version {version.version} of {model} has no recorded evaluation")
    decided = decision.model_dump(mode="json")
    runs.update(state.run_id, status=RunStatus.REGISTERING, model_version=version.version, decision=decided)
    return state.model_copy(
        update={
            "dataset": version.dataset,
            "training": TrainingResult(
                job_name=version.training_job_name,
                status="Completed",
                metrics=version.metrics,
                model_artifact_uri=version.model_artifact_uri,
                image=version.image,
            ),
            # Finalize moves the pointer from the champion seen here, with the same conditional write.
            "evaluation": evaluation.model_copy(
                update={
                    "champion_version": champion.version if champion else None,
                    "champion": champion.value if champion else None,
                }
            ),
            "registration": Registration(
                version=version.version,
                model_package_arn=version.model_package_arn,
                approval="Approved",
                deployable=config.serving is not None,
            ),
        }
    )


def _check_approval(
    version: ModelVersion, status: Any, package: dict[str, Any], champion: Champion | None
) -> Decision:
    label = version.version
    if status != "Approved":
        raise DeployRefusedError(
            f"version {label} of {version.model} is {status} in the registry, not Approved"
        )
    decision, force_over = decision_of(package, label)
    evaluated_against = version.evaluation.champion_version if version.evaluation else None
    now = champion.version if champion else None
    if evaluated_against != now:
        if force_over is not None and force_over == (now or ""):
            return decision  # `seam approve --force` with this very champion serving: recorded as forced
        raise DeployRefusedError(
            f"version {label} of {version.model} was evaluated against champion "
            f"{evaluated_against or '(none)'}, but version {now or '(none)'} serves now: "
            f"`seam approve {version.model} {label} --force` deploys it anyway"
        )
    return decision.model_copy(update={"force": False})


def _check_rollback(version: ModelVersion, status: Any, order: DeployOrder) -> Decision:
    label = version.version
    if version.served_at is None:
        raise DeployRefusedError(f"version {label} of {version.model} never served: nothing to roll back to")
    if status == "Rejected":
        raise DeployRefusedError(f"version {label} of {version.model} was rejected in the registry")
    return Decision(action="rollback", version=label, by=order.requested_by or "unknown", note=order.note)
