"""Reconciler (scheduled): has quiet trainings checked (lost events, heartbeats) and repairs stuck locks."""

from aws_lambda_powertools.utilities.typing import LambdaContext

# The tokens store, which seam.domain.orphaned_jobs only names, and the sweep's records, which the stores
# load at first use (the other handlers never sweep): loaded here, at init.
from seam.adapters.dynamodb import tokens  # noqa: F401
from seam.dependencies import dependencies
from seam.domain.orphaned_jobs import OrphanedJobs
from seam.domain.reconciliation import Reconciler
from seam.models import sweep  # noqa: F401
from seam.observability import MetricUnit, logger, metrics, tracer

# Stop starting new checks this long before the timeout: one lock's repair is a few AWS calls, each
# bounded by the client's timeouts and retries; what is left is counted and done by the next sweep.
STOP_BEFORE_TIMEOUT_S = 8


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    deps = dependencies()
    jobs = OrphanedJobs(deps.tokens, deps.training)
    reconciler = Reconciler(deps.runs, deps.locks, deps.workflow, deps.callback_queue, jobs)
    report = reconciler.sweep(
        deps.settings.training_stale_after_seconds,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000 - STOP_BEFORE_TIMEOUT_S,
    )
    for item, reason in report.failed.items():  # each left for the next sweep (or the check's retry)
        logger.warning("reconcile item failed", extra={"item": item, "reason": reason})
    metrics.add_metric(name="TrainingChecksSent", unit=MetricUnit.Count, value=len(report.checks_sent))
    metrics.add_metric(name="ReconcileDeferred", unit=MetricUnit.Count, value=report.deferred)
    metrics.add_metric(name="ReconcileFailures", unit=MetricUnit.Count, value=len(report.failed))
    stopped = sum(1 for stop in report.stopped.values() if stop.stopping)
    metrics.add_metric(name="TrainingJobsStopped", unit=MetricUnit.Count, value=stopped)
    if report.oldest_lock_age_seconds is not None:  # LockHeldTooLongAlarm: a run far over its max runtime
        metrics.add_metric("OldestLockAgeSeconds", MetricUnit.Seconds, report.oldest_lock_age_seconds)
    logger.info("reconciled", extra=report.as_dict())
    return report.as_dict()
