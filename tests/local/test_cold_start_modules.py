"""Which of Seam's own modules each handler loads at cold start: `import app` and the builds of its first
invocation, in a fresh interpreter in Lambda's environment, as bench/cold_start.py measures it.

A change that makes a handler load another Seam module fails here, deterministically, instead of moving
`cold_start_seam_share` in the next `make bench` (a figure that moves ±15 % with the machine's load).
If the handler really needs it, add it below and say in the commit what `make bench` measured. A module
no longer loaded fails too, so the table stays the truth.

And no Seam module on a handler's path defines a dataclass: on Python 3.13 each costs 0.3-0.6 ms to
define (generated methods, compiled at import); values are NamedTuples, services plain classes."""

from __future__ import annotations

import pytest

from bench import cold_start

# Every handler: settings, logging/metrics/tracing, errors, the run's records and the runs table.
COMMON = frozenset(
    {
        "seam",
        "seam.adapters",
        "seam.adapters.aws",
        "seam.adapters.dynamodb",
        "seam.adapters.dynamodb.codec",
        "seam.adapters.dynamodb.runs",
        "seam.adapters.dynamodb.table",
        "seam.dependencies",
        "seam.domain",
        "seam.errors",
        "seam.models",
        "seam.models.run",
        "seam.observability",
        "seam.settings",
    }
)

OWN: dict[str, frozenset[str]] = {
    "check_rollout": frozenset(
        {
            "seam.adapters.dynamodb.serving_targets",
            "seam.adapters.serving",
            "seam.adapters.serving.base",
            "seam.adapters.serving.eks",
            "seam.adapters.serving.eks_auth",
            "seam.adapters.serving.kube_deployment",
            "seam.domain.deployment",
            "seam.models.deploy_order",
            "seam.models.error_info",
            "seam.models.release",
            "seam.models.serving",
            "seam.models.serving_target",
            "seam.models.training_result",
            "seam.models.views",
            "seam.models.views.serving",
        }
    ),
    "deploy": frozenset(
        {
            "seam.adapters.dynamodb.serving_targets",
            "seam.adapters.dynamodb.versions",
            "seam.adapters.serving",
            "seam.adapters.serving.base",
            "seam.adapters.serving.eks",
            "seam.adapters.serving.eks_auth",
            "seam.adapters.serving.kube_deployment",
            "seam.domain.deployment",
            "seam.models.champion",
            "seam.models.deploy_order",
            "seam.models.error_info",
            "seam.models.release",
            "seam.models.serving",
            "seam.models.serving_target",
            "seam.models.training_result",
            "seam.models.views",
            "seam.models.views.serving",
        }
    ),
    "evaluate": frozenset(
        {
            "seam.adapters.datasets",
            "seam.adapters.dynamodb.models",
            "seam.adapters.dynamodb.versions",
            "seam.domain.evaluation",
            "seam.domain.holdout",  # the holdout file's labels, checked against the predictions'
            "seam.domain.metrics",
            "seam.domain.paired_evaluation",
            "seam.models.champion",
            "seam.models.evaluation",
            "seam.models.evaluation_spec",
            "seam.models.paired_evaluation",
            "seam.models.predictions",
            "seam.models.snapshot",
            "seam.models.training_result",
            "seam.models.views",
            "seam.models.views.evaluate",
        }
    ),
    "finalize": frozenset(
        {
            "seam.adapters.dynamodb.locks",
            "seam.adapters.dynamodb.tokens",
            "seam.adapters.dynamodb.versions",
            "seam.adapters.outcomes",
            "seam.adapters.sagemaker",
            "seam.adapters.workflow",
            "seam.domain.costing",
            "seam.domain.finalization",
            # Not the start of a waiting run (seam.domain.starting, the run opening) nor the request
            # (seam.models.run_request): loaded by the hand-over that starts one, not by a release that
            # hands the lock to nobody.
            "seam.domain.lock_handover",
            "seam.domain.orphaned_jobs",
            "seam.models.champion",
            "seam.models.cost",
            "seam.models.decision",
            "seam.models.error_info",
            "seam.models.release",
            "seam.models.run_progress",
            "seam.models.training_result",
            "seam.models.views",
            "seam.models.views.finalize",
        }
    ),
    "launch_training": frozenset(
        {
            "seam.adapters.dynamodb.models",
            "seam.adapters.dynamodb.tokens",
            "seam.adapters.sagemaker",
            "seam.domain.job_identity",
            "seam.domain.training",
            "seam.models.model_identity",
            "seam.models.names",
            "seam.models.serving_target",
            "seam.models.snapshot",
            "seam.models.task_token",
            "seam.models.training_config",
            "seam.models.training_spec",
            "seam.models.views",
            "seam.models.views.training",
        }
    ),
    # A champion of another image digest: its Processing job, launched as LaunchTraining launches.
    "score_champion": frozenset(
        {
            "seam.adapters.dynamodb.models",
            "seam.adapters.dynamodb.tokens",
            "seam.adapters.sagemaker",
            "seam.domain.champion_scoring",
            "seam.domain.job_identity",
            "seam.domain.training",
            "seam.domain.training_limits",
            "seam.models.model_identity",
            "seam.models.names",
            "seam.models.serving_target",
            "seam.models.snapshot",
            "seam.models.task_token",
            "seam.models.training_config",
            "seam.models.training_result",
            "seam.models.training_spec",
            "seam.models.views",
            "seam.models.views.training",
        }
    ),
    # Not the run record (nor its cost records): the sweep reads only what it checks of a quiet run
    # (RunStore.list_by_status) and the status of a lock's holder; a holder it starts is written as
    # opened (seam.models.run_opening).
    "reconciler": frozenset(
        {
            "seam.adapters.dynamodb.locks",
            "seam.adapters.dynamodb.tokens",
            "seam.adapters.queues",
            "seam.adapters.sagemaker",
            "seam.adapters.workflow",
            "seam.domain.lock_handover",
            "seam.domain.orphaned_jobs",
            "seam.domain.reconciliation",
            "seam.models.sweep",
            "seam.models.training_check",
        }
    ),
    "register": frozenset(
        {
            "seam.adapters.dynamodb.models",
            "seam.adapters.dynamodb.versions",
            "seam.adapters.sagemaker",
            "seam.domain.deploy_runs",
            "seam.domain.registration",
            "seam.models.champion",
            "seam.models.decision",
            "seam.models.deploy_order",
            "seam.models.evaluation",
            "seam.models.model_identity",
            "seam.models.names",
            "seam.models.paired_evaluation",
            "seam.models.release",
            "seam.models.run_request",
            "seam.models.serving_target",
            "seam.models.training_result",
            "seam.models.version",
            "seam.models.views",
            "seam.models.views.register",
        }
    ),
    "rollback": frozenset(
        {
            "seam.adapters.dynamodb.serving_targets",
            "seam.adapters.serving",
            "seam.adapters.serving.base",
            "seam.adapters.serving.eks",
            "seam.adapters.serving.eks_auth",
            "seam.adapters.serving.kube_deployment",
            "seam.domain.deployment",
            "seam.models.deploy_order",
            "seam.models.error_info",
            "seam.models.release",
            "seam.models.serving",
            "seam.models.serving_target",
            "seam.models.training_result",
            "seam.models.views",
            "seam.models.views.serving",
        }
    ),
    "training_callback": frozenset(
        {
            "seam.adapters.dynamodb.tokens",
            "seam.adapters.sagemaker",
            "seam.adapters.workflow",
            "seam.domain.job_identity",
            "seam.domain.orphaned_jobs",
            "seam.domain.settlement",
            "seam.models.message_body",
            "seam.models.training_check",
            "seam.models.training_events",
            "seam.models.training_result",
        }
    ),
    # Runs written as opened (not the whole run record), executions started with a document written
    # from the request (not through the whole WorkflowState); a registry change's code
    # (seam.domain.deploy_runs, the versions store), a tick's queue and each source's event models
    # (seam.models.events.<source>) are loaded by the first event of their kind, not at init.
    "trigger": frozenset(
        {
            "seam.adapters.dynamodb.batch",
            "seam.adapters.dynamodb.locks",
            "seam.adapters.dynamodb.models",
            "seam.adapters.workflow",
            "seam.domain.starting",
            "seam.domain.triggering",
            "seam.models.deploy_order",
            "seam.models.events",
            "seam.models.message_body",
            "seam.models.names",
            "seam.models.run_opening",
            "seam.models.run_request",
        }
    ),
    "validate": frozenset(
        {
            "seam.adapters.datasets",
            "seam.adapters.dynamodb.models",
            "seam.adapters.dynamodb.versions",
            "seam.domain.holdout",
            "seam.domain.training_limits",
            "seam.domain.validation",
            "seam.models.champion",
            "seam.models.evaluation_spec",
            "seam.models.names",
            "seam.models.snapshot",
            "seam.models.training_result",
            "seam.models.training_spec",
            "seam.models.validation_config",
            "seam.models.views",
            "seam.models.views.validate",
        }
    ),
}


def seam_modules(function: str) -> set[str]:
    return {name for name, third_party in cold_start.loaded_modules(function) if name.split(".")[0] == "seam"}


@pytest.mark.parametrize("function", cold_start.FUNCTIONS)
def test_a_handler_loads_only_the_seam_modules_named_for_it(function: str) -> None:
    loaded, named = seam_modules(function), COMMON | OWN[function]

    assert loaded == named, (
        f"{function} now loads {sorted(loaded - named)} and no longer loads {sorted(named - loaded)} at cold "
        "start: if that is meant, update this table and say what `make bench` measured"
    )


_DATACLASS_PROBE = """
import sys
{statement}
print(sorted(f"{{name}}.{{value.__qualname__}}" for name, module in list(sys.modules.items())
             if name.startswith("seam") for value in vars(module).values()
             if isinstance(value, type) and "__dataclass_fields__" in vars(value)
             and value.__module__ == name))
"""


@pytest.mark.parametrize("function", cold_start.FUNCTIONS)
def test_no_seam_module_a_handler_loads_defines_a_dataclass(function: str) -> None:
    statement = cold_start.handler_statement(function)
    probe = _DATACLASS_PROBE.format(statement=statement)

    assert cold_start._probe(probe, cold_start.ROOT / "functions" / function) == []
