"""Register a promoted challenger: a Model Registry package (idempotent by run id) + a version record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seam.adapters.dynamodb.models import ModelStore
from seam.adapters.dynamodb.runs import RunStore
from seam.adapters.dynamodb.versions import VersionStore
from seam.adapters.sagemaker import ModelRegistry
from seam.domain.deploy_runs import resolve_deploy
from seam.errors import RegistryError
from seam.models.model_identity import ModelIdentity
from seam.models.release import Registration
from seam.models.run import DEPLOY_TRIGGERS, RunStatus
from seam.models.version import ModelVersion, version_label

if TYPE_CHECKING:  # the handler parses the document with it
    from seam.models.views.register import RegisterState


def register_run(
    state: RegisterState,
    models: ModelStore,
    registry: ModelRegistry,
    versions: VersionStore,
    runs: RunStore,
    group_prefix: str,
    stage: str = "",
) -> RegisterState:
    """The Register state: the run is REGISTERING, the challenger registered (`register`), and its
    version recorded on the run. A deploy run registers nothing: the version it deploys is resolved
    and checked instead (seam.domain.deploy_runs)."""
    config = models.identity(state.model)
    if state.trigger in DEPLOY_TRIGGERS:  # RunKind sent it here past Validate, training and Evaluate
        return resolve_deploy(state, config, versions, runs, registry)
    runs.update(state.run_id, status=RunStatus.REGISTERING)
    registration = register(state, config, registry, versions, group_prefix, stage)
    runs.update(state.run_id, model_version=registration.version)
    return state.model_copy(update={"registration": registration})


def register(
    state: RegisterState,
    config: ModelIdentity,
    registry: ModelRegistry,
    versions: VersionStore,
    group_prefix: str,
    stage: str = "",
) -> Registration:
    if state.training is None or state.dataset is None or state.evaluation is None:
        raise RegistryError("register needs the training result, dataset and evaluation of the run")
    group = f"{group_prefix}{config.name}"
    registry.ensure_group(
        group,
        f"Seam model {config.name} (team {config.team})",
        tags=[{"Key": "seam:model", "Value": config.name}, {"Key": "seam:team", "Value": config.team}],
    )
    approval = "Approved" if config.approval == "auto" else "PendingManualApproval"
    package = registry.create_version(model_package_request(state, config, group, approval, stage))
    version = version_label(int(package["ModelPackageVersion"]))
    versions.put_version(
        ModelVersion(
            model=config.name,
            version=version,
            model_package_arn=package["ModelPackageArn"],
            approval=approval,
            run_id=state.run_id,
            training_job_name=state.training.job_name,
            image=state.training.image,
            model_artifact_uri=state.training.model_artifact_uri,
            dataset=state.dataset,
            metrics=state.training.metrics,
            evaluation=state.evaluation,
        )
    )
    return Registration(
        version=version,
        model_package_arn=package["ModelPackageArn"],
        approval=approval,
        deployable=approval == "Approved" and config.serving is not None,
    )


def model_package_request(
    state: RegisterState, config: ModelIdentity, group: str, approval: str, stage: str = ""
) -> dict[str, Any]:
    assert state.training and state.dataset and state.evaluation
    lineage = {
        "seam:run-id": state.run_id,
        "seam:training-job": state.training.job_name,
        "seam:dataset": state.dataset.uri,
        "seam:dataset-version": state.dataset.version_id or "",
        "seam:dataset-etag": state.dataset.etag or "",
        "seam:metrics": json.dumps(state.training.metrics, sort_keys=True)[:1024],
        "seam:decision": state.evaluation.reason[:1024],
    }
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"{config.name} trained by run {state.run_id}",
        "ClientToken": state.run_id,  # a retried Register returns the same package
        "ModelApprovalStatus": approval,
        "InferenceSpecification": {
            "Containers": [
                {"Image": state.training.image, "ModelDataUrl": state.training.model_artifact_uri}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "CustomerMetadataProperties": {k: v for k, v in lineage.items() if v},
        # Cost Explorer splits the bill by these (the training job carries the same).
        "Tags": config.cost_tags(state.run_id, stage),
    }
