"""Bearer tokens: static tokens, the pluggable validator and the EKS token shape."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest
from seam_local.kubeapi import KubeApiServer, looks_like_eks_token, make_eks_token

from tests.local.kubeapi.support import TOKEN, Http, assert_status


def test_missing_or_wrong_token_is_401_status(kube: KubeApiServer) -> None:
    for token in (None, "wrong", "k8s-aws-v1.bm90LWEtdXJs"):
        status, body = Http(kube, token=token)("GET", "/apis/apps/v1/deployments")
        assert status == 401
        assert_status(body, 401, "Unauthorized", "Unauthorized")
    status, _ = Http(kube, token="Bearer")("GET", "/version")
    assert status == 401
    assert Http(kube)("GET", "/version")[0] == 200


def test_default_validator_accepts_eks_shaped_tokens() -> None:
    with KubeApiServer(step_seconds=1, tls=False) as server:
        assert Http(server, token=make_eks_token("cluster-a"))("GET", "/api")[0] == 200
        assert Http(server, token=TOKEN)("GET", "/api")[0] == 401


def test_validator_is_pluggable_and_optional() -> None:
    with KubeApiServer(tls=False, token_validator=lambda token: token.startswith("ok-")) as server:
        assert Http(server, token="ok-123")("GET", "/api")[0] == 200
        assert Http(server, token=make_eks_token())("GET", "/api")[0] == 401
    with KubeApiServer(tls=False, tokens={"only-this"}, token_validator=None) as server:
        assert Http(server, token="only-this")("GET", "/api")[0] == 200
        assert Http(server, token=make_eks_token())("GET", "/api")[0] == 401
        assert Http(server, token=None)("GET", "/api")[0] == 401
    with KubeApiServer(tls=False, tokens={"only-this"}, anonymous=True) as server:  # kubectl over plain HTTP
        assert Http(server, token=None)("GET", "/api")[0] == 200
        assert Http(server, token="wrong")("GET", "/api")[0] == 401


def _encode(url: str) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


SIGNED = (
    "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc123"
)


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        (_encode(SIGNED), True),
        (_encode(SIGNED.replace("Action=GetCallerIdentity", "Action=AssumeRole")), False),
        (_encode(SIGNED.replace("&X-Amz-Signature=abc123", "")), False),
        (_encode(SIGNED.replace("host%3Bx-k8s-aws-id", "host")), False),
        (_encode(SIGNED) + "==", False),  # padded
        ("k8s-aws-v2." + _encode(SIGNED).split(".", 1)[1], False),
        ("k8s-aws-v1.not base64!", False),
        (_encode("not a url"), False),
        ("", False),
    ],
)
def test_eks_token_format(token: str, valid: bool) -> None:
    assert looks_like_eks_token(token) is valid


def test_token_presigned_by_botocore_is_accepted() -> None:
    """Generated as aws-iam-authenticator / `aws eks get-token` do."""
    sts = boto3.session.Session().client(
        "sts",
        region_name="eu-west-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )

    def add_cluster_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = "seam-test"

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    assert looks_like_eks_token(_encode(url))
    assert looks_like_eks_token(make_eks_token())
