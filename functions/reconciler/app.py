"""Reconciler (scheduled): settles runs whose SageMaker event was lost and repairs stuck locks."""

from dataclasses import asdict

from aws_lambda_powertools.utilities.typing import LambdaContext
from seam.dependencies import dependencies
from seam.domain.reconciliation import Reconciler
from seam.domain.training import TrainingSettler
from seam.observability import MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    deps = dependencies()
    settler = TrainingSettler(deps.tokens, deps.runs, deps.workflow, claimant="reconciler")
    reconciler = Reconciler(deps.runs, deps.locks, deps.training, deps.workflow, settler)
    report = reconciler.sweep(deps.settings.training_stale_after_seconds)
    metrics.add_metric(name="RunsReconciled", unit=MetricUnit.Count, value=len(report.settled))
    logger.info("reconciled", extra=asdict(report))
    return asdict(report)
