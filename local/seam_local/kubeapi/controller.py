"""A simulated Deployment controller: moves each Deployment's status forward one step at a time.

Per Deployment it keeps the replica sets a real controller would own (one per pod template, named
`<deployment>-<pod-template-hash>`). A new template starts a new revision (annotation
`deployment.kubernetes.io/revision`); each step the pods created on the previous step become
available, the new replica set grows by one pod and old replica sets shrink as new pods become
available. The status fields and the `Available`/`Progressing` conditions are those the real
controller writes (reasons MinimumReplicasAvailable/Unavailable, ReplicaSetUpdated,
NewReplicaSetAvailable, ProgressDeadlineExceeded).

A revision fails - its pods never become available and, after `fail_after_steps` steps, Progressing
turns False with reason ProgressDeadlineExceeded - when

* a container (or init container) image contains `crashloop`, or
* the pod template has the annotation `seam.dev/simulate: crashloop`, or
* the `on_rollout(namespace, name, deployment)` hook returns False or raises. The hook runs in its own
  thread when a revision starts (not for the simulated failures above); until it returns, the new pods
  stay unavailable and only `spec.progressDeadlineSeconds` of wall time can time the rollout out.
  Any other return value (True, None) lets the rollout proceed.

Changing the template again (for instance restoring the last good one) starts a new revision that
rolls out normally; a restored template reuses its old replica set's pods, as the real controller does.

`instant=True` (bench/overhead.py, which measures Seam's own time, not a cluster's): a revision that is
not set up to fail rolls out completely in one reconciliation pass (every new pod available, old replica
sets scaled to zero), and the API server runs a pass after every write it serves, before it replies; so
whoever reads the Deployment after its patch returned sees the rollout complete. The hook is not called.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .resources import DEPLOYMENTS
from .store import Store, now

log = logging.getLogger(__name__)

RolloutHook = Callable[[str, str, dict[str, Any]], Any]
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
SIMULATE_ANNOTATION = "seam.dev/simulate"
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def pod_template_hash(template: dict[str, Any]) -> str:
    number = int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16], 16)
    chars = []
    for _ in range(10):
        number, digit = divmod(number, len(_HASH_ALPHABET))
        chars.append(_HASH_ALPHABET[digit])
    return "".join(chars)


def simulated_failure(template: dict[str, Any]) -> str | None:
    """Why this pod template is set up to crash-loop, or None."""
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    if annotations.get(SIMULATE_ANNOTATION) == "crashloop":
        return f"annotation {SIMULATE_ANNOTATION}=crashloop"
    pod = template.get("spec") or {}
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        if "crashloop" in str(container.get("image", "")):
            return f"image {container.get('image')}"
    return None


def _resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value or 0)


def max_unavailable(spec: dict[str, Any]) -> int:
    """`deploymentutil.MaxUnavailable`: how far below spec.replicas availability may drop."""
    replicas, strategy = spec.get("replicas", 1), spec.get("strategy") or {}
    if strategy.get("type") != "RollingUpdate" or replicas == 0:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _resolve(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


@dataclass
class _ReplicaSet:
    revision: int
    replicas: int = 0
    available: int = 0


@dataclass
class _Rollout:
    uid: str
    sets: dict[str, _ReplicaSet] = field(default_factory=dict)
    current: str = ""
    failing: bool = False
    hook_pending: object | None = None  # token of the running hook call
    steps: int = 0
    last_progress: float = 0.0
    timed_out: bool = False


class RolloutController:
    def __init__(
        self,
        store: Store,
        *,
        step_seconds: float = 0.5,
        fail_after_steps: int = 4,
        on_rollout: RolloutHook | None = None,
        instant: bool = False,
    ) -> None:
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        self.store = store
        self.step_seconds = step_seconds
        self.fail_after_steps = fail_after_steps
        self.on_rollout = None if instant else on_rollout
        self.instant = instant
        self._lock = threading.Lock()
        self._rollouts: dict[tuple[str, str], _Rollout] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kubeapi-rollout-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.step_seconds):
            try:
                self.step()
            except Exception:
                log.exception("rollout controller step failed")

    # ------------------------------------------------------------ reconciliation

    def step(self) -> None:
        """One reconciliation pass over every Deployment."""
        deployments, _ = self.store.list(DEPLOYMENTS)
        with self._lock:
            seen = set()
            for deployment in deployments:
                meta = deployment["metadata"]
                key = (meta["namespace"], meta["name"])
                seen.add(key)
                rollout = self._rollouts.get(key)
                if rollout is None or rollout.uid != meta["uid"]:
                    rollout = self._rollouts[key] = _Rollout(uid=meta["uid"])
                self._sync(deployment, rollout)
            for key in set(self._rollouts) - seen:
                del self._rollouts[key]

    def _sync(self, deployment: dict[str, Any], rollout: _Rollout) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        desired = spec.get("replicas", 1)
        template_hash = pod_template_hash(spec["template"])
        if template_hash != rollout.current:
            self._start_revision(deployment, rollout, template_hash)
        else:
            rollout.steps += 1
        before = [(rs.replicas, rs.available) for rs in rollout.sets.values()]
        self._advance(rollout, desired, self.instant)
        if before != [(rs.replicas, rs.available) for rs in rollout.sets.values()]:
            rollout.last_progress = time.monotonic()
        status = self._status(deployment, rollout, desired)
        revision = str(rollout.sets[rollout.current].revision)

        def write(current: dict[str, Any]) -> dict[str, Any] | None:
            if (current["metadata"]["uid"], current["metadata"].get("generation")) != (
                meta["uid"],
                meta.get("generation"),
            ):
                return None  # changed since the snapshot; the next step sees the new spec
            current["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = revision
            current["status"] = _with_conditions(status, current.get("status", {}).get("conditions") or [])
            return current

        self.store.modify(DEPLOYMENTS, meta["namespace"], meta["name"], write)

    def _start_revision(self, deployment: dict[str, Any], rollout: _Rollout, template_hash: str) -> None:
        meta = deployment["metadata"]
        revision = max((rs.revision for rs in rollout.sets.values()), default=0) + 1
        rollout.sets.setdefault(template_hash, _ReplicaSet(revision)).revision = revision
        for other_hash, other in rollout.sets.items():
            if other_hash != template_hash:
                other.replicas = other.available  # unhealthy pods of old replica sets go first
        rollout.current, rollout.steps, rollout.timed_out = template_hash, 0, False
        rollout.last_progress = time.monotonic()
        reason = simulated_failure(deployment["spec"]["template"])
        rollout.failing, rollout.hook_pending = reason is not None, None
        if reason:
            log.info(
                "deployment %s/%s revision %d simulates a crash loop (%s)",
                meta["namespace"],
                meta["name"],
                revision,
                reason,
            )
        elif self.on_rollout is not None:
            token = rollout.hook_pending = object()
            threading.Thread(
                target=self._call_hook,
                args=(rollout, token, meta["namespace"], meta["name"], copy.deepcopy(deployment)),
                name=f"kubeapi-rollout-hook-{meta['name']}",
                daemon=True,
            ).start()

    def _call_hook(
        self, rollout: _Rollout, token: object, namespace: str, name: str, deployment: dict
    ) -> None:
        assert self.on_rollout is not None
        try:
            ok = self.on_rollout(namespace, name, deployment) is not False
        except Exception:
            log.exception("on_rollout hook failed for deployment %s/%s", namespace, name)
            ok = False
        with self._lock:
            if rollout.hook_pending is token:
                rollout.hook_pending, rollout.failing = None, not ok

    @staticmethod
    def _advance(rollout: _Rollout, desired: int, instant: bool = False) -> None:
        new = rollout.sets[rollout.current]
        if rollout.failing:
            new.available = 0
        elif instant and rollout.hook_pending is None:
            new.replicas = new.available = desired  # every pod of the revision at once
        elif rollout.hook_pending is None:
            new.available = new.replicas  # the pods created on the previous step are ready now
        if new.replicas > desired:
            new.replicas = desired
        elif new.replicas < desired:
            new.replicas += 1
        new.available = min(new.available, new.replicas)
        surplus = new.available + sum(rs.replicas for h, rs in rollout.sets.items() if h != rollout.current)
        surplus -= desired
        for old_hash, old in sorted(rollout.sets.items(), key=lambda item: item[1].revision):
            if old_hash == rollout.current or surplus <= 0:
                continue
            removed = min(old.replicas, surplus)
            old.replicas -= removed
            old.available = min(old.available, old.replicas)
            surplus -= removed

    def _status(self, deployment: dict[str, Any], rollout: _Rollout, desired: int) -> dict[str, Any]:
        spec, name = deployment["spec"], deployment["metadata"]["name"]
        new = rollout.sets[rollout.current]
        total = sum(rs.replicas for rs in rollout.sets.values())
        available = sum(rs.available for rs in rollout.sets.values())
        settled = rollout.hook_pending is None and not rollout.failing
        complete = settled and new.replicas == desired and total == desired and available == desired
        replica_set = f'ReplicaSet "{name}-{rollout.current}"'
        deadline = spec.get("progressDeadlineSeconds", 600)
        if not complete and not rollout.timed_out:
            stuck = time.monotonic() - rollout.last_progress > deadline
            rollout.timed_out = stuck or (rollout.failing and rollout.steps >= self.fail_after_steps)

        if available >= desired - max_unavailable(spec):
            available_cond = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            available_cond = (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        if complete:
            progressing = ("True", "NewReplicaSetAvailable", f"{replica_set} has successfully progressed.")
        elif rollout.timed_out:
            progressing = ("False", "ProgressDeadlineExceeded", f"{replica_set} has timed out progressing.")
        else:
            progressing = ("True", "ReplicaSetUpdated", f"{replica_set} is progressing.")

        counts = {
            "replicas": total,
            "updatedReplicas": new.replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "unavailableReplicas": max(0, total - available),
        }
        status: dict[str, Any] = {"observedGeneration": deployment["metadata"].get("generation", 1)}
        status.update({k: v for k, v in counts.items() if v})  # the apiserver omits zero counts
        status["conditions"] = [("Available", *available_cond), ("Progressing", *progressing)]
        return status


def _with_conditions(status: dict[str, Any], previous: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn (type, status, reason, message) tuples into conditions, keeping unchanged ones as they were."""
    status = dict(status)
    by_type = {cond.get("type"): cond for cond in previous}
    conditions = []
    stamp = now()
    for kind, value, reason, message in status["conditions"]:
        old = by_type.get(kind)
        if old and (old.get("status"), old.get("reason"), old.get("message")) == (value, reason, message):
            conditions.append(old)
            continue
        transition = old["lastTransitionTime"] if old and old.get("status") == value else stamp
        conditions.append(
            {
                "type": kind,
                "status": value,
                "lastUpdateTime": stamp,
                "lastTransitionTime": transition,
                "reason": reason,
                "message": message,
            }
        )
    status["conditions"] = conditions
    return status


def rollout_status(deployment: dict[str, Any]) -> str:
    """`complete`, `failed` or `progressing`, decided as `kubectl rollout status` decides."""
    meta, spec, status = deployment["metadata"], deployment.get("spec", {}), deployment.get("status", {})
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return "progressing"
    progressing = next((c for c in status.get("conditions", []) if c.get("type") == "Progressing"), {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return "failed"
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    if updated < spec.get("replicas", 1) or status.get("replicas", 0) > updated or available < updated:
        return "progressing"
    return "complete"
