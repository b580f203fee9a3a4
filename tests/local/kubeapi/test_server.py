"""The server itself: lifecycle and threads, TLS material, the kubeconfig it writes, seeding helpers."""

from __future__ import annotations

import base64
import os
import ssl
import threading
from http import client as http_client
from typing import Any

import pytest
import yaml
from cryptography import x509
from lightkube import KubeConfig
from seam_local.kubeapi import KubeApiServer

from tests.local.kubeapi.support import TOKEN, Http, deployment


def test_lifecycle_and_threads() -> None:
    with pytest.raises(ValueError, match="loopback"):
        KubeApiServer(host="0.0.0.0")
    server = KubeApiServer(tls=False, tokens={TOKEN})
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        assert server.ca_pem is None and server.ca_data is None
        assert Http(server)("GET", "/version")[0] == 200
        ours = [t for t in threading.enumerate() if t.name.startswith("kubeapi")]
        assert ours and all(t.daemon for t in ours)
    with pytest.raises(RuntimeError):
        server.start()


def test_tls_certificate_and_ca(kube: KubeApiServer) -> None:
    assert kube.url == f"https://127.0.0.1:{kube.port}"
    assert base64.b64decode(kube.ca_data) == kube.ca_pem
    assert kube.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    leaf = x509.load_pem_x509_certificate(kube.tls.cert_pem)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    context = ssl.create_default_context(cadata=kube.ca_pem.decode())
    conn = http_client.HTTPSConnection("localhost", kube.port, context=context, timeout=5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusted = http_client.HTTPSConnection(
            "127.0.0.1", kube.port, context=ssl.create_default_context(), timeout=5
        )
        untrusted.request("GET", "/healthz")


def test_write_kubeconfig(kube: KubeApiServer, tmp_path: Any) -> None:
    path = kube.write_kubeconfig(tmp_path / "kube" / "config", token="tok", name="seam-dev")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "seam-dev"
    (cluster,) = config["clusters"]
    assert cluster == {
        "name": "seam-dev",
        "cluster": {"server": kube.url, "certificate-authority-data": kube.ca_data},
    }
    assert config["users"] == [{"name": "seam-dev", "user": {"token": "tok"}}]
    assert config["contexts"] == [
        {"name": "seam-dev", "context": {"cluster": "seam-dev", "user": "seam-dev"}}
    ]
    loaded = KubeConfig.from_file(path).get()
    assert loaded.cluster.server == kube.url and loaded.user.token == "tok"


def test_seeding_helpers(kube: KubeApiServer) -> None:
    assert kube.get_deployment("new-ns", "model") is None
    first = kube.apply_deployment(deployment(), namespace="new-ns")  # creates the namespace
    assert first["metadata"]["namespace"] == "new-ns"
    again = kube.apply_deployment(
        {**deployment(), "metadata": {"name": "model", "resourceVersion": "1"}}, namespace="new-ns"
    )
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert [d["metadata"]["name"] for d in kube.list_deployments("new-ns")] == ["model"]
    assert kube.create_namespace("new-ns")["metadata"]["name"] == "new-ns"  # idempotent
    assert kube.delete_deployment("new-ns", "model") and not kube.delete_deployment("new-ns", "model")
