"""The template's side of docs/SECURITY.md: who may do what to which of this stage's resources."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.template.test_template import (
    REPO,
    _ref_id,
    as_list,
    cfn,  # noqa: F401  (the translated-template fixture)
    load_raw,
    policy_documents,
    raw,  # noqa: F401
    resources,
    statements,
)

# What each role may do to each table, and nothing more (the domain code's calls, docs/SECURITY.md).
DYNAMODB_GRANTS: dict[str, dict[str, set[str]]] = {
    "TriggerFunctionRole": {
        "ModelsTable": {"GetItem", "BatchGetItem", "Scan"},
        "LocksTable": {"GetItem", "BatchGetItem", "UpdateItem"},
        "RunsTable": {"GetItem", "BatchGetItem", "PutItem", "UpdateItem"},  # a rejection, on its run
        "ModelVersionsTable": {"GetItem"},  # an approval's version and the champion
    },
    "ValidateFunctionRole": {
        "ModelsTable": {"GetItem"},
        "ModelVersionsTable": {"GetItem"},
        "RunsTable": {"UpdateItem"},
    },
    "LaunchTrainingFunctionRole": {
        "ModelsTable": {"GetItem"},
        "TaskTokensTable": {"PutItem", "UpdateItem"},
        "RunsTable": {"UpdateItem", "Query"},  # Query: the month's spend of a model with a budget
    },
    "ScoreChampionFunctionRole": {
        "ModelsTable": {"GetItem"},
        "TaskTokensTable": {"PutItem", "UpdateItem"},  # UpdateItem: claims the token of a foreign job
        "RunsTable": {"UpdateItem"},
    },
    "EvaluateFunctionRole": {
        "ModelsTable": {"GetItem"},
        "ModelVersionsTable": {"GetItem"},
        "RunsTable": {"UpdateItem"},
    },
    "RegisterFunctionRole": {
        "ModelsTable": {"GetItem"},
        "ModelVersionsTable": {"GetItem", "PutItem"},  # GetItem: a deploy run's version, the champion
        "RunsTable": {"GetItem", "UpdateItem"},
    },
    "FinalizeFunctionRole": {
        "RunsTable": {"GetItem", "UpdateItem", "PutItem"},
        "LocksTable": {"GetItem", "UpdateItem"},
        "ModelVersionsTable": {"GetItem", "PutItem", "UpdateItem"},
        "TaskTokensTable": {"GetItem"},
    },
    "TrainingCallbackFunctionRole": {
        "TaskTokensTable": {"GetItem", "UpdateItem"},
        "RunsTable": {"UpdateItem"},
    },
    "ReconcilerFunctionRole": {
        "TaskTokensTable": {"GetItem"},
        "RunsTable": {"GetItem", "UpdateItem", "PutItem", "Query"},
        "LocksTable": {"Scan", "GetItem", "UpdateItem"},
    },
    # Deploy, CheckRollout and Rollback: read the config, record and read the serving spec; a deploy
    # run's registered image (deploy_target).
    "ServingDeployerRole": {
        "ModelsTable": {"GetItem"},
        "RunsTable": {"GetItem", "UpdateItem"},
        "ModelVersionsTable": {"GetItem"},
    },
}


def dynamodb_grants(template: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """role -> table -> the dynamodb actions its Allow statements grant (indexes count as the table)."""
    found: dict[str, dict[str, set[str]]] = {}
    for where, document in policy_documents(template):
        role = where.split("/")[0]
        for stmt in statements(document):
            actions = [a for a in as_list(stmt.get("Action", [])) if str(a).startswith("dynamodb:")]
            if not actions or stmt.get("Effect") != "Allow":
                continue
            for resource in as_list(stmt["Resource"]):
                table = _ref_id(resource) or re.match(r"\$\{(\w+)\.Arn\}", resource["Fn::Sub"])[1]  # type: ignore[index]
                found.setdefault(role, {}).setdefault(table, set()).update(a.split(":")[1] for a in actions)
    return found


def test_every_role_has_exactly_the_dynamodb_actions_its_code_calls(cfn: dict[str, Any]) -> None:  # noqa: F811
    """Explicit actions per function and table: no SAM CRUD policy (Scan, Delete, BatchWrite on tables
    that need only Get/Put/Update)."""
    assert dynamodb_grants(cfn) == DYNAMODB_GRANTS


def test_nothing_may_delete_or_batch_write_seams_records(cfn: dict[str, Any]) -> None:  # noqa: F811
    for role, tables in dynamodb_grants(cfn).items():
        for table, actions in tables.items():
            assert not actions & {"DeleteItem", "BatchWriteItem", "DeleteTable", "UpdateTable"}, (role, table)
    assert not [
        p
        for r in resources(load_raw(), "AWS::Serverless::Function").values()
        for p in r["Properties"].get("Policies", [])
        if isinstance(p, dict) and any(k.startswith("DynamoDB") for k in p)
    ], "SAM DynamoDB policy templates grant more than a function calls"


def allow(cfn: dict[str, Any], role: str, action: str) -> list[dict[str, Any]]:  # noqa: F811
    return [
        stmt
        for where, document in policy_documents(cfn)
        if where.split("/")[0] == role
        for stmt in statements(document)
        if stmt.get("Effect") == "Allow" and action in as_list(stmt.get("Action", []))
    ]


def test_create_training_job_requires_the_stack_key_encryption_isolation_and_the_stage_tag(
    cfn: dict[str, Any],  # noqa: F811
) -> None:
    (create,) = allow(cfn, "LaunchTrainingFunctionRole", "sagemaker:CreateTrainingJob")
    assert create["Action"] == "sagemaker:CreateTrainingJob"  # alone: AddTags has no such condition keys
    condition = create["Condition"]
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert condition["ArnEquals"] == {"sagemaker:VolumeKmsKey": key, "sagemaker:OutputKmsKey": key}
    allowed_network, isolated = condition["Bool"]["Fn::If"][1:]
    assert condition["Bool"]["Fn::If"][0] == "TrainingNetworkAllowed"
    assert isolated == {
        "sagemaker:InterContainerTrafficEncryption": "true",
        "sagemaker:NetworkIsolation": "true",
    }
    assert allowed_network == {"sagemaker:InterContainerTrafficEncryption": "true"}
    assert condition["StringEquals"] == {"aws:RequestTag/seam:stage": {"Ref": "Stage"}}
    raw_params = load_raw()["Parameters"]
    assert raw_params["TrainingNetworkAccess"]["Default"] == "denied"


def test_create_processing_job_requires_the_stack_key_isolation_the_stage_tag_and_a_bounded_runtime(
    cfn: dict[str, Any],  # noqa: F811
) -> None:
    """The champion's scoring job (seam.domain.champion_scoring): the condition keys CreateProcessingJob
    supports (Service Authorization Reference), network isolation always (scoring needs no network)."""
    from seam.domain.training_limits import SCORING_MAX_RUNTIME_SECONDS

    (create,) = allow(cfn, "ScoreChampionFunctionRole", "sagemaker:CreateProcessingJob")
    assert create["Action"] == "sagemaker:CreateProcessingJob"
    assert create["Resource"]["Fn::Sub"].endswith(":processing-job/seam-${Stage}-*")
    condition = create["Condition"]
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert condition["ArnEquals"] == {"sagemaker:VolumeKmsKey": key, "sagemaker:OutputKmsKey": key}
    assert condition["Bool"] == {
        "sagemaker:InterContainerTrafficEncryption": "true",
        "sagemaker:NetworkIsolation": "true",
    }
    assert condition["StringEquals"] == {"aws:RequestTag/seam:stage": {"Ref": "Stage"}}
    assert condition["NumericLessThanEquals"] == {
        "sagemaker:MaxRuntimeInSeconds": SCORING_MAX_RUNTIME_SECONDS
    }
    for role in ("TrainingCallbackFunctionRole", "ScoreChampionFunctionRole"):
        (describe,) = allow(cfn, role, "sagemaker:DescribeProcessingJob")
        assert describe["Resource"]["Fn::Sub"].endswith(":processing-job/seam-${Stage}-*"), role
    for role in ("ReconcilerFunctionRole", "FinalizeFunctionRole"):
        assert allow(cfn, role, "sagemaker:StopProcessingJob"), role


def test_training_pulls_images_only_from_the_named_repositories(raw: dict[str, Any]) -> None:  # noqa: F811
    role = raw["Resources"]["SageMakerTrainingRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    pulls = [s for s in role["Statement"] if "Fn::If" in s]
    (pull,) = pulls
    condition, statement, otherwise = pull["Fn::If"]
    assert condition == "HasTrainingRepositories" and otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Resource"] == {"Ref": "TrainingImageRepositoryArns"}
    text = json.dumps(role)
    assert "repository/*" not in text


def test_the_data_bucket_is_encrypted_with_the_stack_key_and_access_logged(raw: dict[str, Any]) -> None:  # noqa: F811
    bucket = raw["Resources"]["DataBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]},
    }
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    assert raw["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("stage", ["dev", "prod", "staging", "pr123", "s" * 10])
def test_a_stage_is_any_short_lowercase_name(stage: str, raw: dict[str, Any]) -> None:  # noqa: F811
    from seam.models.run import STAGE_PATTERN

    pattern = raw["Parameters"]["Stage"]["AllowedPattern"]
    assert pattern == STAGE_PATTERN  # the template and the code agree
    assert re.fullmatch(pattern, stage)


@pytest.mark.parametrize("stage", ["", "Prod", "1dev", "dev-1", "s" * 11, "dev_x"])
def test_a_stage_that_cannot_be_part_of_every_name_is_refused(stage: str, raw: dict[str, Any]) -> None:  # noqa: F811
    assert not re.fullmatch(raw["Parameters"]["Stage"]["AllowedPattern"], stage)


# -- checkov: 0 failed, and every skip says why next to its resource ----------------------------------------

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def test_every_checkov_skip_sits_on_its_resource_with_a_reason(raw: dict[str, Any]) -> None:  # noqa: F811
    skipped = 0
    for lid, resource in raw["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (lid, skip)
            assert len(skip.get("comment", "")) >= 40, f"{lid} skips {skip['id']} without a reason"
            skipped += 1
    assert skipped > 0


def test_checkov_reports_no_failed_check() -> None:
    if not CHECKOV.exists():
        pytest.fail(".venv-checkov/bin/checkov is missing: run make setup (requirements/checkov.txt)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            "template.yaml",
            "--framework",
            "cloudformation",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    summary = (report[0] if isinstance(report, list) else report)["summary"]
    assert summary["failed"] == 0 and summary["parsing_errors"] == 0, summary
    assert summary["passed"] > 0
