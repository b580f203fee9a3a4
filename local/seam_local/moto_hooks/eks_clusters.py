"""EKS: a moto cluster record points at the local Kubernetes API and its CA, so DescribeCluster
answers with them.

moto members: `moto.eks.models.Cluster.endpoint` and `.certificate_authority`, written through
`eks_backends`; moto makes both up at CreateCluster and no API action changes them.
"""

from __future__ import annotations

import inspect

from moto.eks.models import Cluster, eks_backends


def check() -> None:
    for attribute in ("self.endpoint", "self.certificate_authority"):
        if attribute not in inspect.getsource(Cluster.__init__):
            raise RuntimeError(f"moto EKS Cluster no longer sets {attribute}")


def set_cluster_endpoint(name: str, endpoint: str, ca_data: str, *, account: str, region: str) -> None:
    """Point moto's cluster record at a real API server, so DescribeCluster answers with it."""
    cluster = eks_backends[account][region].clusters[name]
    cluster.endpoint = endpoint
    cluster.certificate_authority = {"data": ca_data}
