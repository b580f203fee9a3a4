"""The one place that creates Powertools Logger, Tracer and Metrics for every handler.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
Handlers decorate in one order: inject_lambda_context -> log_metrics -> capture_lambda_handler.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Where the run id lives in each workflow state's input: the correlation id of every log line.
RUN_ID_PATH = "run_id"

__all__ = ["RUN_ID_PATH", "MetricUnit", "logger", "metrics", "tracer"]
