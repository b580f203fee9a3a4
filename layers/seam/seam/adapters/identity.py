"""Who is calling: STS GetCallerIdentity, the identity a decision (approve, reject, rollback) is
recorded under."""

from __future__ import annotations

from seam.adapters.aws import aws_call, client


def caller_arn() -> str:
    """The ARN of the credentials in use (an IAM user, or an assumed role's session)."""
    with aws_call("GetCallerIdentity"):
        return str(client("sts").get_caller_identity()["Arn"])
