"""One model per serving Deployment, and a run only counts what its own release did (issue 16, item 4).

The interleavings run the real Deploy / CheckRollout / Rollback domain code, in the order two
workflows (or a workflow and another writer) can reach them, against the stores on moto and the
in-memory serving adapter (the same contract as EKS).
"""

from __future__ import annotations

import pytest
from seam.domain.deployment import check_rollout, deploy, rollback
from seam.errors import ConfigError, ServingTargetChangedError
from seam.models.model_config import ModelConfig
from seam.models.run import (
    DatasetRef,
    DeploymentInfo,
    Registration,
    Run,
    TrainingResult,
    TriggerKind,
    WorkflowState,
)
from seam.models.serving_target import ServingTarget

from tests.reliability.conftest import Figure
from tests.reliability.test_scenarios import onboard
from tests.workflow.harness import CRASHING_IMAGE, IMAGE, Harness

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ORIGINAL = "registry/churn:previous"  # what serves before either run (the harness's Deployment)


def serving_target_of(config: ModelConfig) -> ServingTarget:
    assert config.serving is not None
    return config.serving


def at_deploy(h: Harness, model: str, run_id: str, image: str) -> WorkflowState:
    """A run that trained and registered, about to enter Deploy."""
    dataset = DatasetRef(bucket=h.bucket, key=f"datasets/{model}/{run_id}.csv", etag=run_id)
    h.deps.runs.create(Run(run_id=run_id, model=model, trigger=TriggerKind.DATA, dataset=dataset))
    return WorkflowState(
        run_id=run_id,
        model=model,
        trigger=TriggerKind.DATA,
        dataset=dataset,
        training=TrainingResult(
            job_name=run_id,
            status="Completed",
            model_artifact_uri=f"s3://{h.bucket}/models/{run_id}/model.tar.gz",
            image=image,
        ),
        registration=Registration(
            version=run_id[-6:], model_package_arn=f"arn:{run_id}", approval="Approved", deployable=True
        ),
    )


def deployed(h: Harness, state: WorkflowState, target: ServingTarget) -> WorkflowState:
    assert state.training is not None
    deployed_now = deploy(state, target, h.serving, h.deps.runs, 0, state.training.image)
    return state.model_copy(update={"deployment": deployed_now})


def outcome(h: Harness, state: WorkflowState, target: ServingTarget) -> str:
    """What CheckRollout (and Rollback when it fails) make of the run: done / rolled back / the error."""
    try:
        checked = check_rollout(state, target, h.serving, max_checks=3)
        if checked.state == "done":
            return "done"
        if checked.state == "progressing":
            return "progressing"
    except ServingTargetChangedError:
        pass  # the ASL catches it into Rollback
    return rolled_back(h, state, target)


def rolled_back(h: Harness, state: WorkflowState, target: ServingTarget) -> str:
    try:
        return "rolled back" if rollback(state, target, h.serving, h.deps.runs) else "nothing to roll back"
    except ServingTargetChangedError as exc:
        return f"{type(exc).__name__}"


def test_two_models_never_share_a_deployment_and_a_rollback_never_undoes_another_release(
    harness: Harness, figure: Figure
) -> None:
    target = serving_target_of(onboard(harness, "model-a"))
    with pytest.raises(ConfigError, match="already served by model 'model-a'"):
        onboard(harness, "model-b", serving=target.model_dump())

    # Two writers on one Deployment anyway (a config stored before this check existed: B's runs
    # still patch A's Deployment): A's crashloop, then B over it, then A's Rollback, then B's check.
    run_a = deployed(
        harness, at_deploy(harness, "model-a", "seam-model-a-0000000000aa", CRASHING_IMAGE), target
    )
    a_checked = check_rollout(run_a, target, harness.serving, max_checks=3)
    assert a_checked.state == "failed"  # A's crashloop: the ASL goes to Rollback
    run_b = deployed(harness, at_deploy(harness, "model-a", "seam-model-a-0000000000bb", IMAGE), target)
    a_result = rolled_back(harness, run_a.model_copy(update={"deployment": a_checked}), target)
    b_result = outcome(harness, run_b, target)
    serving_now = harness.serving.snapshot(target)

    assert a_result == "ServingTargetChangedError"  # A does not restore the original over B's release
    assert (
        b_result == "done" and serving_now.container["image"] == IMAGE and serving_now.run_id == run_b.run_id
    )
    figure.scenario = "two releases on one Deployment"
    figure.injected = "B onboarded onto A's Deployment; then A crashloops, B deploys over it, A rolls back"
    figure.expected = "B refused at put; A's rollback refused (not A's release); B done and serving"
    figure.observed = f"put refused; A: {a_result}; B: {b_result}, serving {serving_now.run_id}"


def test_another_writer_reverting_the_release_fails_the_run_instead_of_deploying_it(
    harness: Harness, figure: Figure
) -> None:
    target = serving_target_of(onboard(harness, "gitops"))
    run = deployed(harness, at_deploy(harness, "gitops", "seam-gitops-0000000000cc", IMAGE), target)
    # A GitOps controller puts its own spec back before the rollout is checked.
    harness.serving.restore(
        target,
        harness.serving.snapshot(target).model_copy(
            update={"container": {"name": "model", "image": "gitops:v7"}, "annotations": {}}
        ),
    )
    with pytest.raises(ServingTargetChangedError, match="a release Seam did not deploy"):
        check_rollout(run, target, harness.serving, max_checks=3)
    with pytest.raises(ServingTargetChangedError, match="not rolled back"):
        rollback(
            run.model_copy(update={"deployment": DeploymentInfo(generation=2)}),
            target,
            harness.serving,
            harness.deps.runs,
        )

    assert harness.serving.snapshot(target).container["image"] == "gitops:v7"  # the other writer's spec stays
    figure.scenario = "another writer reverts a release mid-rollout"
    figure.injected = "after Deploy, the Deployment's template is replaced (no seam.dev/run-id)"
    figure.expected = "CheckRollout fails the run (ServingTargetChangedError); Rollback restores nothing"
    figure.observed = f"run failed; serving {harness.serving.snapshot(target).container['image']}"
