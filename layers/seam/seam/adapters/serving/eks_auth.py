"""How a Lambda authenticates to an EKS cluster without a kubeconfig: endpoint + CA from
eks:DescribeCluster, bearer token from a presigned STS GetCallerIdentity URL.

The token is what `aws eks get-token` and aws-iam-authenticator produce (awscli
customizations/eks/get_token.py, aws-iam-authenticator pkg/token/token.go):

    "k8s-aws-v1." + base64url-without-padding(presigned GET https://sts.<region>.amazonaws.com/
        ?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60&X-Amz-SignedHeaders=host;x-k8s-aws-id...)

`x-k8s-aws-id: <cluster name>` is a *signed header*, so a token minted for one cluster is useless for
another. STS ignores X-Amz-Expires for this call and honours the URL for 15 minutes after X-Amz-Date;
60 is sent because old authenticators reject anything else. Clients refresh after 14 minutes.

This is the only serving module that touches boto3; clients come from `seam.adapters.aws` (one per
container, with its retry config and the local runtime's hooks), so AWS_ENDPOINT_URL is respected.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from seam.errors import ServingError

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
URL_EXPIRES_SECONDS = 60  # X-Amz-Expires: ignored by STS, kept at 60 like get-token (see module doc)
TOKEN_REFRESH_SECONDS = 14 * 60  # the URL is valid 15 min after signing; refresh a minute early

Clock = Callable[[], float]


class ClusterEndpoint(NamedTuple):
    """Where a cluster's API server is and the CA its serving certificate chains to."""

    name: str
    endpoint: str  # https://<id>.<region>.eks.amazonaws.com
    ca_data: str  # base64 of the PEM bundle, as DescribeCluster returns it

    @property
    def ca_pem(self) -> str:
        try:
            return base64.b64decode(self.ca_data, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ServingError(f"cluster {self.name}: certificateAuthority.data is not base64 PEM") from exc


class EksClusterResolver:
    """eks:DescribeCluster once per cluster name for the container's life (endpoint and CA are stable)."""

    def __init__(self, eks_client: Any = None) -> None:
        self._eks = eks_client
        self._cache: dict[str, ClusterEndpoint] = {}

    def __call__(self, cluster: str) -> ClusterEndpoint:
        if cluster not in self._cache:
            self._cache[cluster] = self._describe(cluster)
        return self._cache[cluster]

    def _describe(self, cluster: str) -> ClusterEndpoint:
        from seam.adapters import aws

        eks = self._eks or aws.client("eks")
        with aws.aws_call(f"eks:DescribeCluster {cluster}", ServingError):
            info = eks.describe_cluster(name=cluster)["cluster"]
        endpoint = (info.get("endpoint") or "").rstrip("/")
        ca_data = (info.get("certificateAuthority") or {}).get("data") or ""
        if not endpoint or not ca_data:
            # A cluster that is still CREATING has neither; nothing to talk to yet.
            raise ServingError(f"cluster {cluster} has no endpoint/CA yet (status {info.get('status')})")
        return ClusterEndpoint(name=cluster, endpoint=endpoint, ca_data=ca_data)


class _Token(NamedTuple):
    value: str
    issued_at: float


class EksTokenProvider:
    """Bearer tokens per cluster, cached until shortly before their 15-minute validity ends.

    The clock is wall time by default: validity is counted from the X-Amz-Date in the URL, and a
    frozen Lambda sandbox keeps wall time moving.
    """

    def __init__(self, sts_client: Any = None, clock: Clock = time.time) -> None:
        self._sts = sts_client
        self._clock = clock
        self._cache: dict[str, _Token] = {}

    def __call__(self, cluster: str) -> str:
        now = self._clock()
        cached = self._cache.get(cluster)
        if cached is None or now - cached.issued_at >= TOKEN_REFRESH_SECONDS:
            cached = self._cache[cluster] = _Token(self._mint(cluster), now)
        return cached.value

    def _mint(self, cluster: str) -> str:
        return eks_token(presign_get_caller_identity(self._sts_client(), cluster))

    def _sts_client(self) -> Any:
        if self._sts is None:
            from seam.adapters import aws

            self._sts = aws.client("sts")
        return self._sts


def eks_token(presigned_url: str) -> str:
    """The bearer token for a presigned GetCallerIdentity URL: the prefix + unpadded base64url."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(presigned_url.encode("utf-8")).decode("ascii").rstrip("=")


def presign_get_caller_identity(sts: Any, cluster: str) -> str:
    """A presigned STS GetCallerIdentity GET URL with `x-k8s-aws-id: cluster` among its signed headers.

    GetCallerIdentity has no parameter for the header, so (as awscli does) the cluster name rides in
    the request context from provide-client-params to before-sign, where it becomes a header that
    SigV4 query signing then lists in X-Amz-SignedHeaders.
    """
    events = sts.meta.events
    # unique_id: registering twice on a shared client is a no-op.
    events.register(
        "provide-client-params.sts.GetCallerIdentity",
        _cluster_id_to_context,
        unique_id="seam-k8s-aws-id-param",
    )
    events.register(
        "before-sign.sts.GetCallerIdentity", _cluster_id_to_header, unique_id="seam-k8s-aws-id-header"
    )
    return sts.generate_presigned_url(
        "get_caller_identity",
        Params={CLUSTER_ID_HEADER: cluster},
        ExpiresIn=URL_EXPIRES_SECONDS,
        HttpMethod="GET",
    )


def _cluster_id_to_context(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if CLUSTER_ID_HEADER in params:
        context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)


def _cluster_id_to_header(request: Any, **_: Any) -> None:
    if CLUSTER_ID_HEADER in request.context:
        request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]
