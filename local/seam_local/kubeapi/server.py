"""The HTTP(S) server: connection handling, auth, JSON replies, chunked watch streams, lifecycle."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import tls as tls_material
from .api import Api, Reply, Request, WatchPlan, as_table
from .auth import Authenticator, TokenValidator, looks_like_eks_token
from .controller import RolloutController, RolloutHook, rollout_status
from .errors import ApiError, bad_request, unauthorized
from .kubeconfig import build_kubeconfig, write_kubeconfig
from .resources import DEPLOYMENTS, NAMESPACES
from .store import Store

log = logging.getLogger(__name__)

UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_CONNECTION_ERRORS = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    ssl.SSLError,
    TimeoutError,
)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], kube: KubeApiServer, context: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.kube = kube
        self.ssl_context = context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None:
            request.settimeout(10)
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as err:
                log.debug("TLS handshake with %s failed: %s", client_address, err)
                return
        with self.connections_lock:
            self.connections.add(request)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            with self.connections_lock:
                self.connections.discard(request)
            if self.ssl_context is not None:
                request.close()

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                # socket.socket's shutdown, not SSLSocket's: another thread may be using the TLS state.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "seam-kubeapi"
    timeout = 300  # idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _HttpServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        kube = self.server.kube
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            path = url.path.rstrip("/") or "/"
            if path in UNAUTHENTICATED_PATHS and self.command == "GET":
                self._send(200, b"ok", "text/plain; charset=utf-8")
                return
            if not kube.authenticator(self.headers.get("Authorization")):
                raise unauthorized()
            query = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
            outcome = kube.api.handle(Request(self.command, path, query, self.headers, body))
            if kube.controller.instant and self.command != "GET":
                kube.controller.step()  # instant rollouts: done before the client hears the write succeeded
            if isinstance(outcome, WatchPlan):
                self._watch(outcome)
            else:
                self._send_json(outcome)
        except ApiError as err:
            self._send_json(Reply(err.code, err.status()))
        except _CONNECTION_ERRORS:
            self.close_connection = True
        except Exception as err:
            log.exception("%s %s failed", self.command, self.path)
            error = ApiError(500, "InternalError", f"an error on the server has prevented the request: {err}")
            self._send_json(Reply(500, error.status()))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as err:
            self.close_connection = True
            raise bad_request("invalid Content-Length") from err
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, code: int, data: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, reply: Reply) -> None:
        self._send(reply.code, json.dumps(reply.body, separators=(",", ":")).encode(), "application/json")

    # ------------------------------------------------------------ watch

    def _watch(self, plan: WatchPlan) -> None:
        store = self.server.kube.store
        events, cursor = store.watch_start(plan.rtype, plan.since)  # may raise 410 before any byte is sent
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        deadline = time.monotonic() + plan.timeout_seconds
        kube = self.server.kube
        kube._count_watch(+1)
        try:
            self._send_events(plan, events)
            while not store.closed and not self._client_gone():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                events, cursor = store.wait_events(cursor, min(remaining, 1.0))
                self._send_events(plan, events)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away (ssl.SSLError and the connection errors are OSErrors)
            pass
        except Exception:  # headers are out: all that is left is to end the stream by closing
            log.exception("watch %s failed", self.path)
        finally:
            kube._count_watch(-1)
        self.close_connection = True

    def _send_events(self, plan: WatchPlan, events: Iterable[Any]) -> None:
        for event in events:
            obj = event.obj
            if event.rtype is not plan.rtype or not plan.matches(obj):
                continue
            if plan.namespace is not None and obj["metadata"].get("namespace") != plan.namespace:
                continue
            if plan.table:
                obj = as_table(plan.rtype, [obj], obj["metadata"]["resourceVersion"], "Metadata")
            line = json.dumps({"type": event.type, "object": obj}, separators=(",", ":")).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))

    def _client_gone(self) -> bool:
        """A client reading a watch sends nothing, so a readable socket means it closed (or broke) it."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


def _check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the local Kubernetes API binds loopback addresses only, not {host!r}")


class KubeApiServer:
    """A local Kubernetes API for apps/v1 Deployments; see the package docstring."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = True,
        tokens: Iterable[str] = (),
        token_validator: TokenValidator | None = looks_like_eks_token,
        step_seconds: float = 0.5,
        fail_after_steps: int = 4,
        on_rollout: RolloutHook | None = None,
        instant_rollouts: bool = False,
        namespaces: Iterable[str] = DEFAULT_NAMESPACES,
        anonymous: bool = False,
    ) -> None:
        _check_loopback(host)
        self.host = "127.0.0.1" if host == "localhost" else host
        self._requested_port = port
        self.store = Store()
        self.api = Api(self.store, lambda: f"{self.host}:{self.port}")
        self.authenticator = Authenticator(tokens, token_validator, anonymous=anonymous)
        self.controller = RolloutController(
            self.store,
            step_seconds=step_seconds,
            fail_after_steps=fail_after_steps,
            on_rollout=on_rollout,
            instant=instant_rollouts,
        )
        self.tls = tls_material.generate() if tls else None
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._watches = 0
        self._watches_lock = threading.Lock()
        for name in namespaces:
            self.create_namespace(name)

    def load_rbac(self, documents: Iterable[dict[str, Any]]) -> None:
        """Roles, ClusterRoles and their bindings (e.g. manifests/seam-deployer-rbac.yaml's documents):
        what access reviews of other subjects than the token's holder are answered from."""
        self.api.rbac.load(documents)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> KubeApiServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        if self.store.closed:
            raise RuntimeError("a stopped server cannot be restarted; create a new one")
        context = self.tls.server_context() if self.tls else None
        self._httpd = _HttpServer((self.host, self._requested_port), self, context)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="kubeapi-http", daemon=True
        )
        self._thread.start()
        self.controller.start()
        log.info("local Kubernetes API listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, end every watch and the controller; idempotent, returns within about a second."""
        self.store.close()
        self.controller.stop()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            stopper = threading.Thread(target=httpd.shutdown, daemon=True)
            stopper.start()
            # wake the accept loop now rather than at its next poll
            with contextlib.suppress(OSError):
                socket.create_connection(httpd.server_address[:2], timeout=0.5).close()
            stopper.join()
            httpd.server_close()
            httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def watch_count(self) -> int:
        """How many watch streams are open (tests use it to know a client is watching)."""
        return self._watches

    def _count_watch(self, delta: int) -> None:
        with self._watches_lock:
            self._watches += delta

    @property
    def ca_pem(self) -> bytes | None:
        return self.tls.ca_pem if self.tls else None

    @property
    def ca_data(self) -> str | None:
        return self.tls.ca_data if self.tls else None

    # ------------------------------------------------------------ kubeconfig

    def kubeconfig(
        self, token: str, name: str = "seam-local", namespace: str | None = None
    ) -> dict[str, Any]:
        return build_kubeconfig(self.url, token, ca_data=self.ca_data, name=name, namespace=namespace)

    def write_kubeconfig(
        self, path: str | Path, token: str, name: str = "seam-local", namespace: str | None = None
    ) -> Path:
        """Write a kubeconfig (cluster, user and context all called `name`) for this server and `token`."""
        return write_kubeconfig(path, self.kubeconfig(token, name, namespace))

    # ------------------------------------------------------------ seeding and inspection from Python

    def create_namespace(self, name: str) -> dict[str, Any]:
        """Create the namespace unless it exists; return it."""
        existing = self.store.find(NAMESPACES, "", name)
        return existing or self.store.create(NAMESPACES, "", {"metadata": {"name": name}})

    def apply_deployment(self, deployment: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create or replace a Deployment (its namespace too, if missing), ignoring resourceVersion."""
        meta = dict(deployment.get("metadata") or {})
        namespace = namespace or meta.get("namespace") or "default"
        meta.pop("resourceVersion", None)
        meta["namespace"] = namespace
        body = {**deployment, "metadata": meta}
        self.create_namespace(namespace)
        if self.store.find(DEPLOYMENTS, namespace, meta.get("name", "")) is None:
            return self.store.create(DEPLOYMENTS, namespace, body)
        return self.store.update(DEPLOYMENTS, namespace, meta["name"], body)

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.find(DEPLOYMENTS, namespace, name)

    def list_deployments(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.store.list(DEPLOYMENTS, namespace)[0]

    def delete_deployment(self, namespace: str, name: str) -> bool:
        try:
            self.store.delete(DEPLOYMENTS, namespace, name)
        except ApiError:
            return False
        return True

    def wait_for_rollout(self, namespace: str, name: str, timeout: float = 10.0) -> str:
        """Block until the rollout is `complete` or `failed` (see `rollout_status`), else TimeoutError."""
        deadline = time.monotonic() + timeout
        cursor = int(self.store.resource_version)
        while True:
            deployment = self.get_deployment(namespace, name)
            if deployment is None:
                raise LookupError(f"deployment {namespace}/{name} not found")
            state = rollout_status(deployment)
            if state != "progressing":
                return state
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.store.closed:
                raise TimeoutError(f"deployment {namespace}/{name} still progressing after {timeout}s")
            _, cursor = self.store.wait_events(cursor, min(remaining, 0.5))
