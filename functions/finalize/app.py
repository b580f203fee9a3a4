"""Finalize: outcome and timings on the run, champion pointer, lock release, pending run, domain event."""

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

# The adapters OrphanedJobs uses, which seam.domain.orphaned_jobs only names: loaded here, at init.
from seam.adapters import sagemaker  # noqa: F401
from seam.adapters.dynamodb import tokens  # noqa: F401
from seam.dependencies import dependencies
from seam.domain.costing import CostMeter
from seam.domain.finalization import Finalizer
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.models.views.finalize import FinalizeState
from seam.observability import RUN_ID_PATH, MetricUnit, logger, metrics, record_run_ended, tracer


@logger.inject_lambda_context(correlation_id_path=RUN_ID_PATH)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=FinalizeState)
def lambda_handler(state: FinalizeState, context: LambdaContext) -> dict:
    deps = dependencies()
    jobs = OrphanedJobs(deps.tokens, deps.training)
    meter = CostMeter(deps.workflow, deps.training, int(context.memory_limit_in_mb))
    finalizer = Finalizer(
        deps.runs, deps.versions, deps.locks, deps.workflow, deps.outcomes, jobs, deps.registry, meter
    )
    result = finalizer.finalize(state)
    metrics.add_metric(name=f"Run{result['status'].title()}", unit=MetricUnit.Count, value=1)
    billable = state.training.billable_seconds if state.training else None
    # Per model, for the dashboard: outcome, time per state, training billable seconds, cost.
    record_run_ended(state.model, result["status"], result["state_timings"], billable, result["cost"])
    if (result["training_job_stop"] or {}).get("stopping"):  # an orphaned training job was stopped
        metrics.add_metric(name="TrainingJobsStopped", unit=MetricUnit.Count, value=1)
    logger.info("run finalized", extra=result)
    return result
