"""EKS auth without a kubeconfig: the get-token bearer token and DescribeCluster, against moto."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws
from seam.adapters import aws
from seam.adapters.serving.eks_auth import (
    TOKEN_PREFIX,
    TOKEN_REFRESH_SECONDS,
    ClusterEndpoint,
    EksClusterResolver,
    EksTokenProvider,
)
from seam.errors import ServingError

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_EKS"):
        monkeypatch.delenv(name, raising=False)
    aws.reset_clients()
    with mock_aws():
        yield
    aws.reset_clients()


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def counting(client, event: str) -> list[int]:
    """Count the API calls `client` makes (botocore fires `event` once per call)."""
    calls: list[int] = []
    client.meta.events.register(event, lambda **_: calls.append(1))
    return calls


def decode(token: str) -> str:
    body = token.removeprefix(TOKEN_PREFIX)
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


# -- the token -------------------------------------------------------------------------------------


def test_token_is_get_token_shaped():
    token = EksTokenProvider(boto3.client("sts"))("prod-eu")

    assert token.startswith("k8s-aws-v1.")
    body = token.removeprefix(TOKEN_PREFIX)
    assert "=" not in body, "base64url without padding"
    assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    url = decode(token)
    assert urlsplit(url).scheme == "https"
    assert urlsplit(url).hostname == f"sts.{REGION}.amazonaws.com"
    params = query(url)
    assert params["Action"] == "GetCallerIdentity"
    assert params["Version"] == "2011-06-15"
    assert params["X-Amz-Expires"] == "60"
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert "x-k8s-aws-id" in params["X-Amz-SignedHeaders"].split(";")
    assert "X-Amz-Signature" in params
    assert "X-Amz-Security-Token" in params  # session credentials travel with the URL


def test_cluster_name_is_signed_so_tokens_differ_per_cluster():
    tokens = EksTokenProvider(boto3.client("sts"))
    assert query(decode(tokens("a")))["X-Amz-Signature"] != query(decode(tokens("b")))["X-Amz-Signature"]


def test_token_is_cached_until_fourteen_minutes_then_refreshed():
    sts = boto3.client("sts")
    signed = counting(sts, "before-sign.sts.GetCallerIdentity")
    clock = FakeClock()
    tokens = EksTokenProvider(sts, clock=clock)

    first = tokens("prod")
    clock.now += TOKEN_REFRESH_SECONDS - 1
    assert tokens("prod") == first
    assert len(signed) == 1

    tokens("staging")  # per cluster
    assert len(signed) == 2

    clock.now += 1  # 14 minutes after minting: refresh before the 15-minute validity ends
    tokens("prod")
    assert len(signed) == 3
    assert TOKEN_REFRESH_SECONDS == 14 * 60


def test_registering_the_header_hooks_twice_on_a_shared_client_is_harmless():
    sts = boto3.client("sts")
    EksTokenProvider(sts)("prod")
    token = EksTokenProvider(sts)("prod")
    assert query(decode(token))["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"


def test_aws_endpoint_url_is_respected(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    url = decode(EksTokenProvider(boto3.client("sts"))("local"))
    assert url.startswith("http://127.0.0.1:4566/?")
    assert query(url)["Action"] == "GetCallerIdentity"


def test_default_clients_come_from_the_shared_factory(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    aws.reset_clients()
    assert decode(EksTokenProvider()("local")).startswith("http://127.0.0.1:4566/?")


# -- DescribeCluster -------------------------------------------------------------------------------


def make_cluster(name: str) -> dict:
    eks = boto3.client("eks")
    eks.create_cluster(
        name=name, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []}
    )
    return eks.describe_cluster(name=name)["cluster"]


def test_describe_cluster_once_per_cluster():
    described = make_cluster("prod")
    eks = boto3.client("eks")
    calls = counting(eks, "before-call.eks.DescribeCluster")
    resolve = EksClusterResolver(eks)

    first = resolve("prod")
    assert first == resolve("prod")
    assert len(calls) == 1
    assert first == ClusterEndpoint(
        name="prod",
        endpoint=described["endpoint"].rstrip("/"),
        ca_data=described["certificateAuthority"]["data"],
    )
    assert first.endpoint.startswith("https://")

    make_cluster("staging")
    resolve("staging")
    assert len(calls) == 2


def test_unknown_cluster_is_a_serving_error_naming_it():
    with pytest.raises(ServingError, match="eks:DescribeCluster nope"):
        EksClusterResolver(boto3.client("eks"))("nope")


def test_ca_pem_decodes_base64_and_rejects_garbage():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    endpoint = ClusterEndpoint("c", "https://x", base64.b64encode(pem.encode()).decode())
    assert endpoint.ca_pem == pem
    with pytest.raises(ServingError, match="cluster c"):
        _ = ClusterEndpoint("c", "https://x", "not base64 !").ca_pem
