"""What people ask of Seam besides a retrain: approve or reject a version, roll back, retry a failed
run. Each request is checked before anything changes (OperationRefusedError says what is wrong and
what would be right); then it goes where every decision goes: an approval or a rejection into the
Model Registry (its state-change event does the rest), a rollback or a retry onto the trigger queue
as the run request it is, so its run id is known (and printed) before it starts.

The deploy run re-checks under the model's lock (seam.domain.deploy_runs): what changed in between
(another approval deployed first) refuses the run with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.adapters.sagemaker import ModelRegistry
from seam.domain.deploy_runs import approval_request
from seam.errors import OperationRefusedError
from seam.models.champion import Champion
from seam.models.decision import Decision, decision_metadata
from seam.models.deploy_order import DeployOrder
from seam.models.run import RunStatus, TriggerKind
from seam.models.run_request import RunRequest
from seam.models.version import ModelVersion, version_label


def find_version(model: str, text: str, versions: VersionStore) -> ModelVersion:
    """`3`, `000003` or a model package ARN -> the version record of `model`."""
    arn = text if text.startswith("arn:") else None
    number = text.rsplit("/", 1)[-1]
    if not number.isdigit() or int(number) < 1:
        raise OperationRefusedError(f"{text!r} is not a version (a number such as 3, or a package ARN)")
    label = version_label(int(number))
    version = versions.get_version(model, label)
    if arn is not None and (version is None or version.model_package_arn != arn):
        group = arn.rsplit("/", 2)[-2] if arn.count("/") >= 2 else arn
        raise OperationRefusedError(f"{arn} is a version of package group {group}, not of model {model}")
    if version is None:
        raise OperationRefusedError(
            f"model {model} has no version {label} (`seam lineage {model}` lists them)"
        )
    return version


def _not_serving(version: ModelVersion, champion: Champion | None, doing: str) -> None:
    if champion is not None and champion.version == version.version:
        raise OperationRefusedError(f"version {version.version} of {version.model} already serves: {doing}")


def approve(
    model: str,
    version_text: str,
    note: str,
    force: bool,
    by: str,
    versions: VersionStore,
    registry: ModelRegistry,
    now: datetime,
    stage: str,
) -> RunRequest:
    """Approve a version in the registry; returns the deploy run its approval change starts."""
    version = find_version(model, version_text, versions)
    champion = versions.champion(model)
    _not_serving(version, champion, "nothing to approve")
    package = registry.describe_version(version.model_package_arn)
    _not_rejected(version, package)
    evaluated_against = version.evaluation.champion_version if version.evaluation else None
    serving = champion.version if champion else None
    moved = evaluated_against != serving
    if moved and not force:
        raise OperationRefusedError(
            f"version {version.version} of {model} was evaluated against champion "
            f"{evaluated_against or '(none)'}, but version {serving or '(none)'} serves now: "
            "add --force to deploy it anyway (recorded on the run)"
        )
    decision = Decision(action="approve", version=version.version, by=by, note=note, force=moved)
    metadata = decision_metadata(decision, force_over=(serving or "") if moved else None)
    registry.set_approval(version.model_package_arn, "Approved", note, metadata)
    changed = registry.describe_version(version.model_package_arn)
    return approval_request(
        stage, model, version.version, version.model_package_arn, changed.get("LastModifiedTime"), now
    )


def reject(
    model: str, version_text: str, reason: str, by: str, versions: VersionStore, registry: ModelRegistry
) -> ModelVersion:
    """Reject a version in the registry (the trigger records the decision on the run that made it)."""
    version = find_version(model, version_text, versions)
    _not_serving(version, versions.champion(model), f"roll it back first (`seam rollback {model}`)")
    _not_rejected(version, registry.describe_version(version.model_package_arn))
    decision = Decision(action="reject", version=version.version, by=by, note=reason)
    registry.set_approval(version.model_package_arn, "Rejected", reason, decision_metadata(decision))
    return version


def _not_rejected(version: ModelVersion, package: dict[str, Any]) -> None:
    if package.get("ModelApprovalStatus") == "Rejected":
        why = package.get("ApprovalDescription") or "no reason given"
        raise OperationRefusedError(
            f"version {version.version} of {version.model} was rejected ({why}): train a new version"
        )


def rollback_request(
    model: str,
    to: str | None,
    reason: str,
    by: str,
    request_id: str,
    versions: VersionStore,
    now: datetime,
    stage: str,
) -> RunRequest:
    """The deploy run that brings back `to` (default: the version that served before the champion)."""
    champion = versions.champion(model)
    if champion is None:
        raise OperationRefusedError(f"no version of {model} serves: nothing to roll back")
    if to is None and champion.previous_version is None:
        raise OperationRefusedError(
            f"no version served before {champion.version} of {model}: name one with --to"
        )
    version = find_version(model, to or champion.previous_version or "", versions)
    _not_serving(version, champion, "nothing to roll back")
    if version.served_at is None:
        raise OperationRefusedError(
            f"version {version.version} of {model} never served: only a version that served can be "
            "rolled back to (`seam approve` deploys a new one)"
        )
    return RunRequest(
        stage=stage,
        model=model,
        trigger=TriggerKind.ROLLBACK,
        intent=f"rollback|{version.version}|{request_id}",
        deploy=DeployOrder(kind="rollback", version=version.version, requested_by=by, note=reason),
        requested_at=now,
    )


def retry_request(run_id: str, runs: RunStore, now: datetime, stage: str) -> RunRequest:
    """A failed run's request again, as a new run: `retry_of` the old one, its id from the old id and
    the attempt number (the first not taken), the same dataset (object version) and deploy order."""
    run = runs.get(run_id)
    if run is None:
        raise OperationRefusedError(f"no run {run_id!r} (`seam runs` lists the recent ones)")
    if not run.status.terminal:
        raise OperationRefusedError(f"run {run_id} is still running ({run.status}): wait for it to end")
    if run.status is not RunStatus.FAILED:
        raise OperationRefusedError(
            f"run {run_id} ended {run.status}, not FAILED: only failed runs are retried"
        )
    attempt = 1
    while True:
        request = RunRequest(
            stage=stage,
            model=run.model,
            trigger=run.trigger,
            intent=f"retry|{run.run_id}|{attempt}",
            dataset=run.dataset,
            deploy=run.deploy,
            retry_of=run.run_id,
            requested_at=now,
        )
        if runs.get(request.run_id) is None:
            return request
        attempt += 1
