"""Container images in Amazon ECR: whether a model config's training image exists (onboarding's check).

DescribeImages by digest in the image's own registry (account) and repository. SageMaker pulls a
training image from ECR in the job's Region, so an image of another Region is a problem too. An image
of another registry than ECR is not checked here (nothing Seam's roles may call answers for it).
"""

from __future__ import annotations

import re

from seam.adapters.aws import aws_call, cause_code, client
from seam.errors import SeamError, TransientError

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>@sha256:<digest>
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^@:]+)@(?P<digest>sha256:[0-9a-f]{64})$"
)
MISSING = {
    "RepositoryNotFoundException": "its repository {repository} does not exist in registry {account}",
    "ImageNotFoundException": "repository {repository} has no image with digest {digest}",
}


class ImageRegistry:
    """What `seam models put` asks of ECR."""

    def problem(self, image: str) -> str | None:
        """None when `image` exists (or is not an ECR image); else why it cannot be pulled, in words."""
        found = ECR_IMAGE.match(image)
        if found is None:
            return None
        ecr = client("ecr")
        region = ecr.meta.region_name
        if found["region"] != region:
            return (
                f"it is in Region {found['region']}, but Seam trains in {region} (SageMaker pulls from there)"
            )
        what = f"DescribeImages {found['repository']}@{found['digest'][:19]}..."
        try:
            with aws_call(what):
                ecr.describe_images(
                    registryId=found["account"],
                    repositoryName=found["repository"],
                    imageIds=[{"imageDigest": found["digest"]}],
                )
        except TransientError:
            raise
        except SeamError as exc:
            missing = MISSING.get(cause_code(exc))
            if missing is None:
                return f"cannot check it: {exc}"
            return missing.format(**found.groupdict())
        return None
