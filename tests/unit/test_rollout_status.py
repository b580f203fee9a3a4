"""rollout_decision follows kubectl's DeploymentStatusViewer.Status, rule by rule.

Source: k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go. In order:
  R1  Generation <= Status.ObservedGeneration, else "Waiting for deployment spec update to be observed"
  R2  Progressing condition with Reason == TimedOutReason ("ProgressDeadlineExceeded") -> error (failed)
  R3  Spec.Replicas != nil && Status.UpdatedReplicas < *Spec.Replicas -> "N out of M new replicas ..."
  R4  Status.Replicas > Status.UpdatedReplicas -> "N old replicas are pending termination"
  R5  Status.AvailableReplicas < Status.UpdatedReplicas -> "N of M updated replicas are available"
  R6  otherwise "successfully rolled out" (done)
"""

from __future__ import annotations

from typing import Any

import pytest
from seam.adapters.serving.kube_deployment import rollout_decision


def deployment(
    *,
    generation: int = 5,
    replicas: int | None = 3,
    observed: int | None = 5,
    total: int = 3,
    updated: int = 3,
    available: int = 3,
    progressing_reason: str | None = "NewReplicaSetAvailable",
) -> dict[str, Any]:
    status: dict[str, Any] = {"replicas": total, "updatedReplicas": updated, "availableReplicas": available}
    if observed is not None:
        status["observedGeneration"] = observed
    if progressing_reason:
        status["conditions"] = [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": progressing_reason},
        ]
    spec: dict[str, Any] = {"template": {"spec": {"containers": [{"name": "model", "image": "i"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "metadata": {"name": "churn-predictor", "namespace": "ml-serving", "generation": generation},
        "spec": spec,
        "status": status,
    }


CASES = [
    # (id, deployment, generation asked about, expected state, reason fragment)
    (
        "R1 observedGeneration < patched generation: not observed yet",
        deployment(observed=4),
        5,
        "progressing",
        "spec update to be observed",
    ),
    (
        "R1 no status yet (observedGeneration 0)",
        deployment(observed=None, total=0, updated=0, available=0, progressing_reason=None),
        5,
        "progressing",
        "spec update to be observed",
    ),
    (
        "R1 kubectl compares the live metadata.generation: a later write must be observed too",
        deployment(generation=6, observed=5),
        5,
        "progressing",
        "spec update to be observed",
    ),
    (
        "R1 before R2: a deadline from the previous revision does not fail the new one",
        deployment(observed=4, progressing_reason="ProgressDeadlineExceeded"),
        5,
        "progressing",
        "spec update to be observed",
    ),
    (
        "R2 Progressing reason ProgressDeadlineExceeded: failed",
        deployment(updated=1, available=0, progressing_reason="ProgressDeadlineExceeded"),
        5,
        "failed",
        "ProgressDeadlineExceeded",
    ),
    (
        "R2 before R3-R6: timed out even if the numbers look done",
        deployment(progressing_reason="ProgressDeadlineExceeded"),
        5,
        "failed",
        "exceeded its progress deadline",
    ),
    (
        "R3 updatedReplicas < spec.replicas",
        deployment(updated=1, available=1, total=3),
        5,
        "progressing",
        "1 out of 3 new replicas have been updated",
    ),
    (
        "R3 skipped when spec.replicas is unset; R4 old replicas pending termination decides",
        deployment(replicas=None, total=4, updated=2, available=2),
        5,
        "progressing",
        "2 old replicas are pending termination",
    ),
    (
        "R4 status.replicas > updatedReplicas: old replicas pending termination",
        deployment(total=5, updated=3, available=3),
        5,
        "progressing",
        "2 old replicas are pending termination",
    ),
    (
        "R5 availableReplicas < updatedReplicas",
        deployment(available=2),
        5,
        "progressing",
        "2 of 3 updated replicas are available",
    ),
    ("R6 everything updated and available: done", deployment(), 5, "done", "successfully rolled out"),
    (
        "R6 observedGeneration ahead of the generation asked about is fine (<=)",
        deployment(generation=7, observed=7),
        5,
        "done",
        "successfully rolled out",
    ),
    (
        "R6 scaled to zero: nothing to wait for",
        deployment(replicas=0, total=0, updated=0, available=0),
        5,
        "done",
        "successfully rolled out",
    ),
    (
        "R2 only reason ProgressDeadlineExceeded fails; ReplicaSetUpdated is still progressing",
        deployment(progressing_reason="ReplicaSetUpdated", updated=3, available=2),
        5,
        "progressing",
        "2 of 3 updated replicas are available",
    ),
]


@pytest.mark.parametrize(
    ("dep", "generation", "state", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_kubectl_rules(dep, generation, state, reason):
    status = rollout_decision(dep, generation)
    assert status.state == state
    assert reason in status.reason


def test_numbers_are_filled_in():
    status = rollout_decision(deployment(generation=6, observed=6, total=4, updated=2, available=1), 6)
    assert status.model_dump() == {
        "state": "progressing",
        "reason": 'Waiting for deployment "churn-predictor" rollout to finish: '
        "2 out of 3 new replicas have been updated...",
        "generation": 6,
        "observed_generation": 6,
        "replicas": 3,  # spec.replicas, the "out of" figure
        "updated_replicas": 2,
        "available_replicas": 1,
        "run_id": None,  # the template carries no seam.dev/run-id annotation
    }


def test_replicas_falls_back_to_status_when_spec_replicas_is_unset():
    assert rollout_decision(deployment(replicas=None, total=2, updated=2, available=2), 5).replicas == 2


def test_the_status_names_whose_release_the_live_template_carries() -> None:
    live = deployment()
    live["spec"]["template"]["metadata"] = {"annotations": {"seam.dev/run-id": "seam-churn-0123456789ab"}}

    assert rollout_decision(live, 5).run_id == "seam-churn-0123456789ab"
    assert rollout_decision(deployment(), 5).run_id is None  # a template Seam never patched
