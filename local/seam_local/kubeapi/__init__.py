"""A local Kubernetes API server for apps/v1 Deployments, for tests and the local runtime.

The real `kubectl` and the lightkube client work against it::

    from seam_local.kubeapi import KubeApiServer, make_eks_token

    with KubeApiServer(step_seconds=0.05) as kube:      # HTTPS on 127.0.0.1, random port
        kube.apply_deployment({...})                     # seed from Python
        kube.write_kubeconfig(path, make_eks_token())   # kubectl --kubeconfig path ...
        kube.wait_for_rollout("ml", "model")             # "complete" or "failed"

Supported surface
-----------------
* Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/apps`, `/apis/apps/v1` (legacy discovery
  documents; clients that ask for aggregated discovery fall back to them). `/openapi/v3` is a stub with
  no schemas that only tells `kubectl apply/create -f` to leave validation to the server (see `openapi`);
  `/openapi/v2` answers 404, which kubectl tolerates. `/healthz`, `/livez`, `/readyz` need no token.
* Namespaces (`/api/v1/namespaces`): get, list, watch, create, update, patch, delete (which deletes the
  namespace's Deployments). `default`, `kube-system`, `kube-public`, `kube-node-lease` exist at start.
* Deployments (`/apis/apps/v1/namespaces/{ns}/deployments[/{name}[/status]]`, and the cluster-wide
  list/watch `/apis/apps/v1/deployments`): get, list, watch, create (POST), replace (PUT, 409 on a stale
  `metadata.resourceVersion`), delete, and PATCH as `application/strategic-merge-patch+json`,
  `application/merge-patch+json`, `application/json-patch+json`, plus `application/apply-patch+yaml`
  approximated as "create, or strategic-merge the applied object" (no managed fields).
* Bookkeeping as the apiserver does it: one `resourceVersion` counter bumped by every write that changes
  something; `generation` bumped only when `spec` changes; uid/creationTimestamp/namespace filled in;
  main-resource writes keep `status`, `/status` writes keep everything else; defaults for replicas (1),
  strategy (RollingUpdate 25%/25%), progressDeadlineSeconds (600), revisionHistoryLimit (10) and the
  pod spec fields kubectl shows. Validation (422 Invalid with causes) of names, selector, selector vs
  template labels, containers with name and image, replicas >= 0, selector immutability.
* List/watch query parameters: `fieldSelector` (metadata.name, metadata.namespace), `labelSelector`,
  `watch`, `resourceVersion`, `timeoutSeconds`, `dryRun=All`; `limit`/`continue` are ignored (one page).
  Watches stream newline-delimited `{"type": "ADDED|MODIFIED|DELETED", "object": ...}` events with chunked
  encoding; a watch from a resourceVersion no longer in the event log gets 410 Expired.
* `Accept: application/json;as=Table;...` (kubectl's table printing) gets server-side `Table`s with
  kubectl's columns (NAME READY UP-TO-DATE AVAILABLE AGE; CONTAINERS IMAGES SELECTOR with -o wide).
* Not served: pods, replica sets, events, `/scale` (so no `kubectl scale`; patch spec.replicas), and
  protobuf request bodies - kubectl's typed `create namespace|deployment` commands send those and get
  415; `kubectl apply -f` / `create -f` send JSON and work.
* Errors are `Status` objects: NotFound 404, AlreadyExists/Conflict 409, Invalid 422 (also for patch
  bodies that are not valid or cannot be applied), Unauthorized 401, BadRequest 400, 405, 415.
* Auth: every other request needs `Authorization: Bearer <token>`, accepted when it is one of `tokens` or
  `token_validator(token)` is true. The default validator checks the EKS token shape (see `auth`):
  `k8s-aws-v1.` + unpadded base64url of a presigned STS URL with `Action=GetCallerIdentity`, an
  `X-Amz-Signature` and `x-k8s-aws-id` in `X-Amz-SignedHeaders`. `make_eks_token()` makes one.
  `anonymous=True` also admits requests that carry no Authorization header at all.
* TLS (default): a CA and a server certificate (SAN IP 127.0.0.1, DNS localhost) generated when the
  server is constructed; `ca_pem` is the CA's PEM, `ca_data` its base64 as EKS DescribeCluster returns
  it. `tls=False` serves plain HTTP - but kubectl sends no bearer token over plain HTTP, so use TLS for
  kubectl (or `anonymous=True`).

Rollouts
--------
A controller thread moves every Deployment's status forward each `step_seconds` (default 0.5; 0.05
suits tests): observedGeneration catches up, updatedReplicas rises to spec.replicas one pod per step,
availableReplicas follows a step later and the old pods go away; conditions `Available` and
`Progressing` (ReplicaSetUpdated while rolling, NewReplicaSetAvailable when done) are set as the real
Deployment controller sets them, so `kubectl rollout status` behaves as on a cluster.

To make a rollout fail, give the pod template a container image containing `crashloop`, or the
template annotation `seam.dev/simulate: crashloop`, or pass `on_rollout=hook` and have
`hook(namespace, name, deployment)` return False or raise; it is called in its own thread whenever a
new revision starts, except for the crashloop markers (any other return value lets the rollout proceed;
until it returns, the new pods stay unavailable and only spec.progressDeadlineSeconds of wall time can
time the rollout out). A failing revision's pods never
become available and after `fail_after_steps` steps (default 4) Progressing turns False with reason
ProgressDeadlineExceeded - `kubectl rollout status` then exits 1 with "exceeded its progress deadline".
Applying a good template again rolls out normally.
"""

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
