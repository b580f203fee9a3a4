"""A local Kubernetes API server for apps/v1 Deployments (HTTPS, EKS-shaped tokens, a rollout controller)
that kubectl and lightkube work against, for tests and the local runtime. What it serves: README.md."""

from .auth import EKS_TOKEN_PREFIX, Authenticator, looks_like_eks_token, make_eks_token
from .controller import REVISION_ANNOTATION, SIMULATE_ANNOTATION, RolloutController, rollout_status
from .errors import ApiError
from .kubeconfig import build_kubeconfig, write_kubeconfig
from .server import KubeApiServer
from .tls import TlsMaterial

__all__ = [
    "EKS_TOKEN_PREFIX",
    "REVISION_ANNOTATION",
    "SIMULATE_ANNOTATION",
    "ApiError",
    "Authenticator",
    "KubeApiServer",
    "RolloutController",
    "TlsMaterial",
    "build_kubeconfig",
    "looks_like_eks_token",
    "make_eks_token",
    "rollout_status",
    "write_kubeconfig",
]
