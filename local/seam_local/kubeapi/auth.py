"""Bearer-token checks: the shape of an EKS token (aws-iam-authenticator), plus static tokens.

An EKS token is `k8s-aws-v1.` + base64url (no padding) of an STS `GetCallerIdentity` URL presigned
with the cluster name in the signed `x-k8s-aws-id` header. `looks_like_eks_token` checks that shape
only; nothing is sent to STS and signatures are not verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

from seam.adapters.serving.eks_auth import TOKEN_PREFIX as EKS_TOKEN_PREFIX
from seam.adapters.serving.eks_auth import eks_token

TokenValidator = Callable[[str], bool]
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def decode_eks_token(token: str) -> str | None:
    """The presigned URL inside an EKS token, or None when the token is not base64url of text."""
    if not token.startswith(EKS_TOKEN_PREFIX):
        return None
    encoded = token[len(EKS_TOKEN_PREFIX) :]
    if not _BASE64URL.fullmatch(encoded):
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def looks_like_eks_token(token: str) -> bool:
    url = decode_eks_token(token)
    if url is None:
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return False
    query = {key.lower(): values for key, values in parse_qs(parts.query).items()}
    signed_headers = {h.strip().lower() for v in query.get("x-amz-signedheaders", []) for h in v.split(";")}
    return (
        query.get("action") == ["GetCallerIdentity"]
        and bool(query.get("x-amz-signature", [""])[0])
        and "x-k8s-aws-id" in signed_headers
    )


def make_eks_token(cluster: str = "seam-local", region: str = "us-east-1") -> str:
    """A token with the EKS shape (fake credentials and signature), for tests and the local runtime."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    query = {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"AKIAIOSFODNN7EXAMPLE/{stamp[:8]}/{region}/sts/aws4_request",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": "60",
        "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
        "X-Amz-Signature": hashlib.sha256(f"{cluster}{stamp}".encode()).hexdigest(),
    }
    url = f"https://sts.{region}.amazonaws.com/?{urlencode(query)}"
    return eks_token(url)


class Authenticator:
    """Accepts a token listed in `tokens` or one `validator` approves (None: static tokens only).

    With `anonymous`, a request without an Authorization header is accepted too (kubectl sends no
    token over plain HTTP); a request with a bad token is still refused.
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        validator: TokenValidator | None = looks_like_eks_token,
        *,
        anonymous: bool = False,
    ) -> None:
        self.tokens = frozenset(tokens)
        self.validator = validator
        self.anonymous = anonymous

    def __call__(self, authorization: str | None) -> bool:
        if authorization is None:
            return self.anonymous
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if token in self.tokens:
            return True
        if self.validator is None:
            return False
        try:
            return bool(self.validator(token))
        except Exception:
            return False
