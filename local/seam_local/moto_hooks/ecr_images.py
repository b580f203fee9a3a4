"""ECR: an image the local runtime can run is in moto's ECR, so `seam models put`'s check that the
training image exists in its registry (DescribeImages by digest) answers as it would on AWS for it.

Locally an image is a folder (seam_local.images: `examples/<repository>/image/` or `--image-dir`), and
a folder has no digest: the local SageMaker runs it for any digest. So DescribeImages of a repository
that resolves to a folder finds the image with the digest asked for (the hook puts it into moto's ECR
first, through moto's own CreateRepository and PutImage); a repository with no folder is not there
(RepositoryNotFoundException), as an image never pushed is not on AWS.

moto member: `moto.ecr.models.ECRBackend.describe_images` (wrapped): moto offers no hook for "an image
that exists elsewhere"; `create_repository` and `put_image` (with its `digest` argument) are called as
the API actions call them.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from moto.ecr.models import ECRBackend

from seam_local.images import ImageNotFound, ImageResolver
from seam_local.moto_hooks.patching import Hook, Patch


def _describe_images(
    self: ECRBackend,
    repository_name: str,
    registry_id: str | None = None,
    image_ids: list[dict[str, str]] | None = None,
) -> Any:
    resolver = HOOK.target
    if resolver is not None and _runs_locally(resolver, repository_name):
        if repository_name not in self.repositories:
            self.create_repository(
                repository_name, registry_id, {"encryptionType": "AES256"}, {}, "MUTABLE", []
            )
        present = {image.image_digest for image in self.repositories[repository_name].images}
        for image_id in image_ids or []:
            digest = image_id.get("imageDigest")
            if digest and digest not in present:
                manifest = {"schemaVersion": 2, "mediaType": MEDIA_TYPE, "config": {"digest": digest}}
                self.put_image(
                    repository_name, json.dumps(manifest), f"local-{digest[7:19]}", MEDIA_TYPE, digest
                )
    return DESCRIBE_IMAGES.original(self, repository_name, registry_id, image_ids)


def _runs_locally(resolver: ImageResolver, repository: str) -> bool:
    try:
        resolver.resolve(f"local/{repository}@sha256:{'0' * 64}")
        return True
    except ImageNotFound:
        return False


def _moto_put_image_takes_a_digest() -> None:
    params = list(inspect.signature(ECRBackend.put_image).parameters)
    if params != [
        "self",
        "repository_name",
        "image_manifest",
        "image_tag",
        "image_manifest_mediatype",
        "digest",
    ]:
        raise RuntimeError(f"moto's ECR put_image changed: {params}")


MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
DESCRIBE_IMAGES = Patch(
    ECRBackend,
    "describe_images",
    _describe_images,
    params=("self", "repository_name", "registry_id", "image_ids"),
)
HOOK: Hook[ImageResolver] = Hook([DESCRIBE_IMAGES], check=_moto_put_image_takes_a_digest)
check = HOOK.check
