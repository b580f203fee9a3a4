"""The ECR adapter (seam.adapters.images) against moto's ECR: does a model config's training image exist?"""

from __future__ import annotations

import json

from seam.adapters.aws import client
from seam.adapters.images import ImageRegistry
from seam_local.stack import EmulatedStack

ACCOUNT = "123456789012"
DIGEST = "sha256:" + "ab" * 32


def image(repository: str = "churn", digest: str = DIGEST, region: str = "us-east-1") -> str:
    return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}"


def push(stack: EmulatedStack, repository: str, digest: str) -> None:
    ecr = client("ecr")
    ecr.create_repository(repositoryName=repository)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageDigest=digest)


def test_a_pushed_image_exists_and_a_missing_one_is_named(stack: EmulatedStack) -> None:
    push(stack, "churn", DIGEST)
    registry = ImageRegistry()

    assert registry.problem(image()) is None
    assert registry.problem(image(digest="sha256:" + "cd" * 32)) == (
        f"repository churn has no image with digest sha256:{'cd' * 32}"
    )
    assert registry.problem(image("fraud")) == f"its repository fraud does not exist in registry {ACCOUNT}"


def test_an_image_of_another_region_is_a_problem_and_another_registry_is_not_checked(
    stack: EmulatedStack,
) -> None:
    registry = ImageRegistry()
    assert registry.problem(image(region="eu-west-1")) == (
        "it is in Region eu-west-1, but Seam trains in us-east-1 (SageMaker pulls from there)"
    )
    assert registry.problem(f"registry.example.com/churn@{DIGEST}") is None
