"""Deploy, watch the rollout, roll back: serving changes only through the ServingAdapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.serving_targets import ServingTargetStore
from seam.adapters.serving.base import ServingAdapter
from seam.errors import ConfigError, ServingError, ServingTargetChangedError, UnexpectedImageError
from seam.models.release import DeploymentInfo
from seam.models.run import RunStatus
from seam.models.serving import DeploymentSnapshot, Release
from seam.models.serving_target import ServingTarget

if TYPE_CHECKING:  # only Deploy reads versions (its handler loads the store)
    from seam.adapters.dynamodb.versions import VersionStore
    from seam.models.views.serving import ServingState


def serving_target(
    targets: ServingTargetStore, model: str, allowed_clusters: frozenset[str]
) -> ServingTarget:
    """The model's target, rejected before any call when its cluster is not one Seam may touch."""
    return _allowed(targets.get(model), model, allowed_clusters)


def _allowed(target: ServingTarget | None, model: str, allowed_clusters: frozenset[str]) -> ServingTarget:
    if target is None:
        raise ServingError(f"model {model} has no serving target")
    if target.cluster not in allowed_clusters:
        allowed = ", ".join(sorted(allowed_clusters)) or "none"
        raise ServingError(
            f"cluster {target.cluster!r} of model {model} is not an allowed "
            f"serving cluster of this stack (allowed: {allowed})"
        )
    return target


def deploy_target(
    state: ServingState,
    targets: ServingTargetStore,
    versions: VersionStore,
    allowed_clusters: frozenset[str],
) -> tuple[ServingTarget, str]:
    """Deploy's target (as `serving_target`) and the only image the run may serve, from one read of the
    config: for a run that trained, the config's (pinned by digest; the job was proven to be the run's
    own, with that image); for a deploy run (an approval or a rollback), the image Seam recorded when it
    registered that version, read from Seam's own version record, not from the document."""
    serving = targets.serving(state.model)
    target = _allowed(serving.target, state.model, allowed_clusters)
    if state.deploy is not None:
        return target, _registered_image(state.model, state.deploy.version, versions)
    if serving.training_image is None:
        raise ConfigError(f"stored config for {state.model!r} has no training image")
    return target, serving.training_image


def _registered_image(model: str, version_label: str, versions: VersionStore) -> str:
    version = versions.get_version(model, version_label)
    if version is None:
        raise ServingError(f"version {version_label} of {model} was never registered by Seam")
    return version.image


def deploy(
    state: ServingState,
    target: ServingTarget,
    serving: ServingAdapter,
    runs: RunStore,
    wait_seconds: int,
    config_image: str,
) -> DeploymentInfo:
    """Patch the run's release into serving. Only `config_image` (`deploy_target`: the model config's,
    or a deploy run's registered one) is ever served: any other is refused before serving is read."""
    if state.training is None or state.registration is None:
        raise ServingError("deploy needs a trained and registered version")
    if state.training.image != config_image:
        raise UnexpectedImageError(
            f"run {state.run_id} would serve image {state.training.image} ≠ config {config_image}; "
            "not deployed"
        )
    _, recorded = runs.previous_serving(state.run_id)
    if recorded:
        # A retried Deploy: keep the snapshot taken before the first patch, not our own patch.
        previous = DeploymentSnapshot.model_validate(recorded)
    else:
        previous = serving.snapshot(target)
        runs.update(
            state.run_id, status=RunStatus.DEPLOYING, previous_serving=previous.model_dump(mode="json")
        )
    release = Release(
        image=state.training.image,
        model_uri=state.training.model_artifact_uri,
        model_version=state.registration.version,
        run_id=state.run_id,
        registry_arn=state.registration.model_package_arn,
    )
    generation = serving.apply(target, release)
    return DeploymentInfo(generation=generation, wait_seconds=wait_seconds)


def check_rollout(
    state: ServingState, target: ServingTarget, serving: ServingAdapter, max_checks: int
) -> DeploymentInfo:
    if state.deployment is None:
        raise ServingError("check_rollout needs a deployment")
    status = serving.rollout_status(target, state.deployment.generation)
    if status.run_id != state.run_id:  # done or not, what rolls out is not this run's release
        raise ServingTargetChangedError(_changed(target, status.run_id, state.run_id))
    checks = state.deployment.checks + 1
    outcome = status.state
    details = status.model_dump(mode="json")
    if outcome == "progressing" and checks >= max_checks:
        # The wait loop's ceiling: a rollout that never settles is a failed rollout.
        outcome = "failed"
        details["reason"] = f"rollout not finished after {checks} checks ({status.reason or 'progressing'})"
    return state.deployment.model_copy(update={"checks": checks, "rollout": details, "state": outcome})


def rollback(state: ServingState, target: ServingTarget, serving: ServingAdapter, runs: RunStore) -> bool:
    """Restore what Seam manages of the spec recorded before Deploy's patch (image, SEAM_* env, seam.dev/*
    annotations: never a whole stored container, so a tampered record cannot add a command, a volume or
    privileges); False when Deploy failed before recording one (nothing was patched, nothing to restore).

    Only this run's own release is rolled back: when the live template carries another run's (or
    none), restoring would overwrite that writer's change with an older spec, so the run fails with
    ServingTargetChangedError instead."""
    exists, recorded = runs.previous_serving(state.run_id)
    if not exists:
        raise ServingError(f"run {state.run_id} does not exist: nothing of it to roll back")
    if recorded is None:
        return False
    previous = DeploymentSnapshot.model_validate(recorded)
    live = serving.snapshot(target)
    if live.run_id != state.run_id and live.managed() != previous.managed():
        raise ServingTargetChangedError(_changed(target, live.run_id, state.run_id) + "; not rolled back")
    runs.update(state.run_id, status=RunStatus.ROLLING_BACK)
    serving.restore(target, previous)  # a no-op when Deploy's patch never landed or was undone
    return True


def _changed(target: ServingTarget, live: str | None, ours: str) -> str:
    now = f"run {live}'s release" if live else "a release Seam did not deploy"
    return (
        f"Deployment {target.namespace}/{target.deployment} in cluster {target.cluster} now carries {now}, "
        f"not run {ours}'s: another writer changed it"
    )
