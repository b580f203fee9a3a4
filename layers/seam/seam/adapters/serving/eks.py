"""The serving adapter for Deployments on EKS (docs/EKS.md).

Talks to the Kubernetes API with lightkube, authenticated as the Lambda's IAM role (eks_auth.py), with
no kubeconfig file. Only the deploy, check_rollout and rollback functions import this module (and so
lightkube); each of their invocations talks to Kubernetes, so the client loads at init, not mid-call.

The Deployment is handled as the raw JSON dict the API server returns (read and patched by the pure
functions of kube_deployment.py), so a snapshot holds the container exactly as read (fields newer than
lightkube's models included) and a rollback puts it back verbatim.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx2
import lightkube
from lightkube.generic_resource import GenericNamespacedResource, create_api_info
from lightkube.types import PatchType

from seam.adapters.serving.eks_auth import Clock, ClusterEndpoint
from seam.adapters.serving.kube_deployment import (
    find_container,
    generation_of,
    release_patch,
    restore_patch,
    rollout_decision,
    template_annotations,
)
from seam.errors import SeamError, ServingConflictError, ServingError, TransientError
from seam.models.serving import DeploymentSnapshot, Release, RolloutStatus
from seam.models.serving_target import ServingTarget

ClusterResolver = Callable[[str], ClusterEndpoint]
TokenProvider = Callable[[str], str]

FIELD_MANAGER = "seam"  # shows up in managedFields: who changed the pod template
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

_HINTS = {
    401: " (the cluster rejected the IAM token: is the deploy role mapped? see docs/EKS.md)",
    403: " (RBAC: group seam-deployer needs get/patch on this Deployment, manifests/seam-deployer-rbac.yaml)",
    404: " (no such Deployment: check the model's serving target)",
}


class EksServing:
    """ServingAdapter for Deployments on EKS clusters named in `allowed_clusters`.

    Injectable for tests and the local runtime: `resolve_cluster` (name -> endpoint + CA),
    `token_provider` (name -> bearer token), `clock` (for the default token provider), `sleep`
    (conflict backoff), `transport` (an httpx2 transport used instead of lightkube's TLS one).
    """

    def __init__(
        self,
        allowed_clusters: frozenset[str],
        *,
        resolve_cluster: ClusterResolver | None = None,
        token_provider: TokenProvider | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx2.BaseTransport | None = None,
        attempts: int = 4,
        backoff_seconds: float = 0.2,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.allowed_clusters = frozenset(allowed_clusters)
        self._resolve = resolve_cluster or _shared_resolver()
        self._tokens = token_provider or _default_tokens(clock)
        self._sleep = sleep
        self._transport = transport
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._timeout = timeout_seconds
        self._clients: dict[str, tuple[str, lightkube.Client]] = {}

    # -- the ServingAdapter protocol ---------------------------------------------------------------

    def snapshot(self, target: ServingTarget) -> DeploymentSnapshot:
        def attempt(client: lightkube.Client) -> DeploymentSnapshot:
            deployment = _get(client, target)
            _, container = find_container(deployment, target)
            return DeploymentSnapshot(
                container=container,
                annotations=template_annotations(deployment),
                generation=generation_of(deployment),
            )

        return self._run(target, "read", attempt)

    def apply(self, target: ServingTarget, release: Release) -> int:
        def attempt(client: lightkube.Client) -> int:
            # A strategic merge on a container name that is not there would *add* a container.
            find_container(_get(client, target), target)
            patched = _patch(client, target, release_patch(target.container, release), STRATEGIC_MERGE)
            return generation_of(patched)

        return self._run(target, "patch", attempt)

    def rollout_status(self, target: ServingTarget, generation: int) -> RolloutStatus:
        return self._run(target, "read", lambda client: rollout_decision(_get(client, target), generation))

    def may_patch(self, target: ServingTarget, group: str) -> tuple[bool, str]:
        """A LocalSubjectAccessReview in the target's namespace: may `group` patch the Deployment?"""

        def attempt(client: lightkube.Client) -> tuple[bool, str]:
            review = _access_review_resource()(
                apiVersion="authorization.k8s.io/v1",
                kind="LocalSubjectAccessReview",
                metadata={"namespace": target.namespace},
                spec={
                    "resourceAttributes": {
                        "namespace": target.namespace,
                        "verb": "patch",
                        "group": "apps",
                        "resource": "deployments",
                        "name": target.deployment,
                    },
                    # The deploy role's user name is its assumed-role ARN; RBAC grants to its group.
                    "user": f"seam:{group}",
                    "groups": [group, "system:authenticated"],
                },
            )
            status = dict(client.create(review, namespace=target.namespace)).get("status") or {}
            return bool(status.get("allowed")), str(
                status.get("reason") or status.get("evaluationError") or ""
            )

        return self._run(target, "review access to", attempt)

    def restore(self, target: ServingTarget, snapshot: DeploymentSnapshot) -> int:
        """Put back the fields Seam manages (image, SEAM_* env, seam.dev/* annotations), nothing else."""
        if snapshot.container.get("name") != target.container:
            raise ServingError(
                f"snapshot is of container {snapshot.container.get('name')!r}, target is {target.container!r}"
            )

        def attempt(client: lightkube.Client) -> int:
            deployment = _get(client, target)
            index, container = find_container(deployment, target)
            live = DeploymentSnapshot(container=container, annotations=template_annotations(deployment))
            if live.managed() == snapshot.managed():
                return generation_of(deployment)  # already restored: retrying a rollback writes nothing
            try:
                patch = restore_patch(index, live, snapshot)
                return generation_of(_patch(client, target, patch, JSON_PATCH))
            except Exception as exc:
                # 422 is also what a failed JSON-patch `test` returns: if the container moved
                # since we read, that is a race to retry, not an invalid request.
                if _http_status(exc) == 422 and find_container(_get(client, target), target)[0] != index:
                    raise ServingConflictError(
                        f"restore {target.namespace}/{target.deployment} in cluster {target.cluster}: "
                        f"container {target.container} moved between read and patch"
                    ) from exc
                raise

        return self._run(target, "restore", attempt)

    # -- plumbing ----------------------------------------------------------------------------------

    def _run(self, target: ServingTarget, verb: str, attempt: Callable[[lightkube.Client], Any]) -> Any:
        """Check the cluster is allowed, then run `attempt`, retrying conflicts with backoff."""
        if target.cluster not in self.allowed_clusters:
            raise ServingError(
                f"cluster {target.cluster} is not in the allowed serving clusters "
                f"({', '.join(sorted(self.allowed_clusters)) or 'none'})"
            )
        for number in range(1, self._attempts + 1):
            try:
                return _translated(target, verb, lambda: attempt(self._client(target.cluster)))
            except ServingConflictError:
                if number == self._attempts:
                    raise
                self._sleep(self._backoff * 2 ** (number - 1))
        raise AssertionError("unreachable")

    def _client(self, cluster: str) -> lightkube.Client:
        """One client per cluster, rebuilt when the token provider hands out a new token."""
        token = self._tokens(cluster)
        cached = self._clients.get(cluster)
        if cached and cached[0] == token:
            return cached[1]
        if cached:
            cached[1].close()
        client = _new_client(self._resolve(cluster), token, self._transport, self._timeout)
        self._clients[cluster] = (token, client)
        return client


# -- lightkube -------------------------------------------------------------------------------------


@functools.cache
def _deployment_resource() -> type:
    """apps/v1 Deployment as a generic (dict) resource, kept out of lightkube's global registry."""

    class Deployment(GenericNamespacedResource):
        _api_info = create_api_info("apps", "v1", "Deployment", "deployments", verbs=["get", "patch"])

    return Deployment


@functools.cache
def _access_review_resource() -> type:
    """authorization.k8s.io/v1 LocalSubjectAccessReview as a generic (dict) resource (create only)."""

    class LocalSubjectAccessReview(GenericNamespacedResource):
        _api_info = create_api_info(
            "authorization.k8s.io",
            "v1",
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            verbs=["post"],
        )

    return LocalSubjectAccessReview


def _get(client: lightkube.Client, target: ServingTarget) -> dict[str, Any]:
    return dict(client.get(_deployment_resource(), target.deployment, namespace=target.namespace))


def _patch(client: lightkube.Client, target: ServingTarget, body: Any, content_type: str) -> dict[str, Any]:
    patched = client.patch(
        _deployment_resource(),
        target.deployment,
        body,
        namespace=target.namespace,
        patch_type=PatchType(content_type),
    )
    return dict(patched)


def _new_client(
    cluster: ClusterEndpoint, token: str, transport: httpx2.BaseTransport | None, timeout: float
) -> lightkube.Client:
    """A lightkube client from endpoint + CA + token through an in-memory kubeconfig (no file).

    TLS is verified against the cluster CA only (lightkube loads certificate-authority-data into the
    SSL context through a short-lived temporary file); verification is never turned off.
    """
    if "-----BEGIN CERTIFICATE-----" not in cluster.ca_pem:
        raise ServingError(f"cluster {cluster.name}: certificateAuthority.data is not a PEM certificate")
    config = lightkube.KubeConfig.from_dict(
        {
            "clusters": [
                {
                    "name": cluster.name,
                    "cluster": {"server": cluster.endpoint, "certificate-authority-data": cluster.ca_data},
                }
            ],
            "users": [{"name": "seam", "user": {"token": token}}],
            "contexts": [{"name": "seam", "context": {"cluster": cluster.name, "user": "seam"}}],
            "current-context": "seam",
        }
    )
    try:
        return lightkube.Client(
            config,
            field_manager=FIELD_MANAGER,
            transport=transport,
            timeout=httpx2.Timeout(timeout),
            trust_env=False,  # no proxy, .netrc or SSL_CERT_* from the environment: the endpoint, its CA
        )
    except ssl.SSLError as exc:
        raise ServingError(f"cluster {cluster.name}: cannot load its CA certificate: {exc}") from exc


# -- errors ----------------------------------------------------------------------------------------


def _translated(target: ServingTarget, verb: str, call: Callable[[], Any]) -> Any:
    """HTTP failures as Seam errors: 409 conflict (retried), 429/5xx/connection transient, the rest
    ServingError naming cluster, namespace, deployment and the HTTP status."""
    try:
        return call()
    except SeamError:
        raise
    except Exception as exc:
        where = f"deployment {target.namespace}/{target.deployment} in cluster {target.cluster}"
        failed = _with_response(exc)
        if failed is not None:
            status = failed.response.status_code
            message = f"{verb} {where}: HTTP {status} {_api_message(failed)}".rstrip()
            if status == 409:
                raise ServingConflictError(message) from exc
            if status == 429 or status >= 500:
                raise TransientError(message) from exc
            raise ServingError(message + _HINTS.get(status, "")) from exc
        if isinstance(exc, httpx2.TransportError):
            if _tls_verification_failed(exc):
                raise ServingError(
                    f"{verb} {where}: TLS verification against the cluster CA failed: {exc}"
                ) from exc
            raise TransientError(f"{verb} {where}: {type(exc).__name__}: {exc}") from exc
        raise


def _http_status(exc: BaseException) -> int | None:
    failed = _with_response(exc)
    return failed.response.status_code if failed is not None else None


def _with_response(exc: BaseException) -> Any:
    """The httpx2.HTTPStatusError / lightkube.ApiError in `exc`'s chain. lightkube 1.0.1 raises a
    KeyError from inside its handler when an error response has no Content-Type header."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(getattr(getattr(seen, "response", None), "status_code", None), int):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _api_message(exc: BaseException) -> str:
    status = getattr(exc, "status", None)  # lightkube.ApiError carries the API's Status object
    message = getattr(status, "message", None)
    return message or getattr(getattr(exc, "response", None), "reason_phrase", "") or ""


def _tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# -- shared defaults: caches live as long as the Lambda container ----------------------------------


@functools.cache
def _shared_resolver() -> ClusterResolver:
    from seam.adapters.serving.eks_auth import EksClusterResolver

    return EksClusterResolver()


@functools.cache
def _shared_tokens() -> TokenProvider:
    from seam.adapters.serving.eks_auth import EksTokenProvider

    return EksTokenProvider()


def reset_caches() -> None:
    """Forget cluster endpoints and tokens shared across the process (the local runtime's cluster
    endpoint changes every time it starts)."""
    _shared_resolver.cache_clear()
    _shared_tokens.cache_clear()


def _default_tokens(clock: Clock | None) -> TokenProvider:
    if clock is None:
        return _shared_tokens()
    from seam.adapters.serving.eks_auth import EksTokenProvider

    return EksTokenProvider(clock=clock)
