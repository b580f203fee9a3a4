"""Register: the CreateModelPackage request (idempotent by run id, lineage) and registering on moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from seam.adapters.sagemaker import ModelRegistry
from seam.dependencies import Dependencies
from seam.domain.registration import model_package_request, register
from seam.errors import RegistryError
from seam.models.model_config import ModelConfig
from seam.models.run import DatasetRef, Evaluation, TrainingResult, TriggerKind, WorkflowState

from tests.stored import stored_versions
from tests.unit.conftest import IMAGE, REGION, Faults, model_config

pytestmark = pytest.mark.tables("ModelVersionsTable")

ARTIFACT = "s3://seam-unit-data/models/churn/{run}/output/model.tar.gz"
GROUP_PREFIX = "seam-unit-"


def state(run_id: str = "seam-churn-0123456789ab", **dataset: Any) -> WorkflowState:
    return WorkflowState(
        run_id=run_id,
        model="churn",
        trigger=TriggerKind.DATA,
        dataset=DatasetRef(
            bucket="seam-unit-data",
            key="datasets/churn/2026-11-22.csv",
            **({"version_id": "v7", "etag": "e7", "size": 1234} | dataset),
        ),
        training=TrainingResult(
            job_name=run_id,
            status="Completed",
            metrics={"validation:auc": 0.91, "validation:accuracy": 0.87},
            model_artifact_uri=ARTIFACT.format(run=run_id),
            image=IMAGE,
        ),
        evaluation=Evaluation(
            decision="promote",
            metric="validation:auc",
            direction="maximize",
            challenger=0.91,
            champion=0.88,
            champion_version="000001",
            improvement=0.03,
            reason="validation:auc 0.8800 -> 0.9100 (improvement +0.0300)",
        ),
    )


# -- model_package_request -----------------------------------------------------------------------------------


def test_the_package_request_is_idempotent_by_run_id_and_serves_the_training_image() -> None:
    request = model_package_request(state(), model_config(), "seam-unit-churn", "Approved")

    assert request["ClientToken"] == "seam-churn-0123456789ab"
    assert request["ModelPackageGroupName"] == "seam-unit-churn"
    assert request["ModelApprovalStatus"] == "Approved"
    assert request["ModelPackageDescription"] == "churn trained by run seam-churn-0123456789ab"
    assert request["InferenceSpecification"]["Containers"] == [
        {"Image": IMAGE, "ModelDataUrl": ARTIFACT.format(run="seam-churn-0123456789ab")}
    ]


def test_the_package_carries_the_lineage_of_run_job_dataset_metrics_and_decision() -> None:
    metadata = model_package_request(state(), model_config(), "g", "Approved")["CustomerMetadataProperties"]

    assert metadata == {
        "seam:run-id": "seam-churn-0123456789ab",
        "seam:training-job": "seam-churn-0123456789ab",
        "seam:dataset": "s3://seam-unit-data/datasets/churn/2026-11-22.csv",
        "seam:dataset-version": "v7",
        "seam:dataset-etag": "e7",
        "seam:metrics": json.dumps({"validation:accuracy": 0.87, "validation:auc": 0.91}),
        "seam:decision": "validation:auc 0.8800 -> 0.9100 (improvement +0.0300)",
    }


def test_lineage_without_a_dataset_version_omits_the_empty_value() -> None:
    metadata = model_package_request(state(version_id=None), model_config(), "g", "Approved")[
        "CustomerMetadataProperties"
    ]

    assert "seam:dataset-version" not in metadata
    assert all(metadata.values())


def test_a_long_decision_is_cut_to_the_metadata_value_limit() -> None:
    long = state()
    assert long.evaluation is not None
    long = long.model_copy(update={"evaluation": long.evaluation.model_copy(update={"reason": "x" * 5000})})

    metadata = model_package_request(long, model_config(), "g", "Approved")["CustomerMetadataProperties"]

    assert len(metadata["seam:decision"]) == 1024


# -- register against moto SageMaker -------------------------------------------------------------------------


@pytest.fixture
def registry(deps: Dependencies) -> ModelRegistry:
    return deps.registry


def do_register(deps: Dependencies, config: ModelConfig, run_id: str = "seam-churn-0123456789ab") -> Any:
    return register(state(run_id), config, deps.registry, deps.versions, GROUP_PREFIX)


def test_registering_creates_the_group_once_and_numbers_versions_zero_padded(
    deps: Dependencies, faults: Faults
) -> None:
    first = do_register(deps, model_config(), "seam-churn-000000000001")
    second = do_register(deps, model_config(), "seam-churn-000000000002")

    assert (first.version, second.version) == ("000001", "000002")
    assert faults.count("sagemaker", "CreateModelPackageGroup") == 1
    group = deps.registry.sm.describe_model_package_group(ModelPackageGroupName="seam-unit-churn")
    assert group["ModelPackageGroupDescription"] == "Seam model churn (team growth)"
    tags = deps.registry.sm.list_tags(ResourceArn=group["ModelPackageGroupArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"seam:model": "churn", "seam:team": "growth"}


def test_the_registered_package_is_what_the_request_described(deps: Dependencies) -> None:
    registration = do_register(deps, model_config())

    package = deps.registry.sm.describe_model_package(ModelPackageName=registration.model_package_arn)
    assert package["ModelPackageGroupName"] == "seam-unit-churn"
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["InferenceSpecification"]["Containers"][0]["Image"] == IMAGE
    assert package["CustomerMetadataProperties"]["seam:run-id"] == "seam-churn-0123456789ab"


def test_registering_writes_the_version_record_with_its_lineage(deps: Dependencies) -> None:
    registration = do_register(deps, model_config())

    (version,) = stored_versions(deps.versions, "churn")
    assert version.model_dump(exclude={"created_at"}) == {
        "model": "churn",
        "version": "000001",
        "model_package_arn": registration.model_package_arn,
        "approval": "Approved",
        "run_id": "seam-churn-0123456789ab",
        "training_job_name": "seam-churn-0123456789ab",
        "image": IMAGE,
        "model_artifact_uri": ARTIFACT.format(run="seam-churn-0123456789ab"),
        "dataset": state().dataset.model_dump(),  # type: ignore[union-attr]
        "metrics": {"validation:auc": 0.91, "validation:accuracy": 0.87},
        "evaluation": state().evaluation.model_dump(),  # type: ignore[union-attr]
        "served_at": None,  # until Finalize makes it the champion
    }


@pytest.mark.parametrize(
    ("approval", "serving", "status", "deployable"),
    [
        ("auto", True, "Approved", True),
        ("auto", False, "Approved", False),
        ("manual", True, "PendingManualApproval", False),
        ("manual", False, "PendingManualApproval", False),
    ],
)
def test_a_version_is_deployable_only_when_approved_and_the_model_has_a_serving_target(
    deps: Dependencies, approval: str, serving: bool, status: str, deployable: bool
) -> None:
    overrides: dict[str, Any] = {"approval": approval}
    if not serving:
        overrides["serving"] = None

    registration = do_register(deps, model_config(**overrides))

    assert (registration.approval, registration.deployable) == (status, deployable)
    package = deps.registry.sm.describe_model_package(ModelPackageName=registration.model_package_arn)
    assert package["ModelApprovalStatus"] == status


def test_registering_without_training_dataset_or_evaluation_is_a_registry_error(deps: Dependencies) -> None:
    incomplete = state().model_copy(update={"evaluation": None})
    with pytest.raises(RegistryError, match="register needs the training result, dataset and evaluation"):
        register(incomplete, model_config(), deps.registry, deps.versions, GROUP_PREFIX)
    assert stored_versions(deps.versions, "churn") == []


def test_a_group_created_concurrently_by_another_register_is_not_an_error(
    deps: Dependencies, faults: Faults
) -> None:
    other = boto3.client("sagemaker", region_name=REGION)  # another register's client: no faults
    other.create_model_package_group(ModelPackageGroupName="seam-unit-churn")
    # This register looked before the other one created the group, and creates it second.
    faults.fail(
        "sagemaker", "DescribeModelPackageGroup", "ValidationException", message="does not exist", times=1
    )
    faults.fail(
        "sagemaker",
        "CreateModelPackageGroup",
        "ValidationException",
        message="Model Package Group already exists: seam-unit-churn",
    )

    assert do_register(deps, model_config()).version == "000001"
    assert faults.count("sagemaker", "CreateModelPackageGroup") == 1


def test_a_registry_failure_is_a_registry_error_naming_the_call(deps: Dependencies, faults: Faults) -> None:
    faults.fail("sagemaker", "CreateModelPackage", "ResourceLimitExceeded", message="too many versions")

    with pytest.raises(RegistryError, match="CreateModelPackage seam-unit-churn failed"):
        do_register(deps, model_config())
    assert stored_versions(deps.versions, "churn") == []


def test_the_package_and_the_training_job_carry_the_same_cost_allocation_tags(deps: Dependencies) -> None:
    config, run_id = model_config(), "seam-churn-0123456789ab"
    request = model_package_request(state(run_id), config, "seam-unit-churn", "Approved", "unit")
    expected = {"seam:model": "churn", "seam:team": "growth", "seam:run-id": run_id, "seam:stage": "unit"}
    assert {t["Key"]: t["Value"] for t in request["Tags"]} == expected
    assert request["Tags"] == config.cost_tags(run_id, "unit")
    # moto's ListTags cannot parse a versioned package's ARN (model-package/<group>/<n>): CreateModelPackage
    # taking the tags is what is checked against it.
    assert register(state(run_id), config, deps.registry, deps.versions, GROUP_PREFIX, "unit").version
