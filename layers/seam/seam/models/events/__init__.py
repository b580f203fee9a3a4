"""The events the trigger consumes, as pydantic models (the training callback's are in
training_events.py).

Powertools' parser models are used where they exist (EventBridge envelope, S3 Object Created);
the CloudWatch alarm detail, the schedule tick and the manual request have their own. Every body
arrives through SQS, so `parse_trigger_body` takes the raw body.

One module per source (alarm, schedule, manual, model_package, run_requests), loaded by the first body
of that source (`parse_trigger_body`): one record is one source, and defining every source's models
at import cost the trigger about 3 ms of its cold start, of which a data drop (Powertools' S3 model)
used none. `from seam.models.events import ManualRequest` still works: it loads the module then.
"""

import importlib
import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import BaseModel, ValidationError

from seam.errors import BadEventError
from seam.models.message_body import load_body, validation_reason
from seam.models.names import MODEL_NAME_PATTERN

if TYPE_CHECKING:
    from seam.models.events.alarm import AlarmStateChangeEvent
    from seam.models.events.manual import ManualRequest
    from seam.models.events.model_package import ModelPackageStateChangeEvent
    from seam.models.events.run_requests import OperatorRequest, QueuedRequest
    from seam.models.events.schedule import ScheduleTick

    TriggerEvent = (
        S3EventNotificationEventBridgeModel
        | AlarmStateChangeEvent
        | ScheduleTick
        | ManualRequest
        | QueuedRequest
        | ModelPackageStateChangeEvent
        | OperatorRequest
    )

# Each source's model: (module, class). The module is imported by the first body of its source.
_TRIGGER_MODELS: dict[str, tuple[str, str]] = {
    "aws.s3": (S3EventNotificationEventBridgeModel.__module__, "S3EventNotificationEventBridgeModel"),
    "aws.cloudwatch": ("seam.models.events.alarm", "AlarmStateChangeEvent"),
    "seam.schedule": ("seam.models.events.schedule", "ScheduleTick"),
    "seam.manual": ("seam.models.events.manual", "ManualRequest"),
    "seam.trigger": ("seam.models.events.run_requests", "QueuedRequest"),
    # Model package state changes only: training state changes go to the callback queue.
    "aws.sagemaker": ("seam.models.events.model_package", "ModelPackageStateChangeEvent"),
    "seam.operator": ("seam.models.events.run_requests", "OperatorRequest"),
}
# Every model a source module defines, by name (for `from seam.models.events import ...`).
_MODULES = {
    "seam.models.events.alarm": ("AlarmState", "AlarmDetail", "AlarmStateChangeEvent"),
    "seam.models.events.schedule": ("ScheduleTick",),
    "seam.models.events.manual": ("ManualDetail", "ManualRequest"),
    "seam.models.events.model_package": ("ModelPackageDetail", "ModelPackageStateChangeEvent"),
    "seam.models.events.run_requests": ("QueuedRequest", "OperatorRequest"),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}


def trigger_model(source: str) -> type[BaseModel] | None:
    """The model a body of `source` is parsed with (its module loaded now); None: not a trigger source."""
    found = _TRIGGER_MODELS.get(source)
    return getattr(importlib.import_module(found[0]), found[1]) if found else None


def parse_trigger_body(body: str) -> "TriggerEvent":
    payload = load_body(body)
    source = payload.get("source")
    model = trigger_model(source) if isinstance(source, str) else None
    if model is None:
        raise BadEventError(f"unsupported event source {str(source)[:64]!r} on the trigger queue")
    try:
        return model.model_validate(payload)  # type: ignore[return-value]
    except ValidationError as exc:
        raise BadEventError(f"invalid {source} event: {validation_reason(exc)}") from exc


_DATASET_KEY = re.compile(r"^datasets/(?P<model>[^/]+)/(?P<rest>.+)$")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1 (NEL \x85 splits lines)
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def model_from_dataset_key(key: str) -> str:
    """`datasets/<model>/<file>` -> model; anything else is rejected with the reason."""
    if _CONTROL_CHARS.search(key):
        raise BadEventError("object key contains control characters")
    match = _DATASET_KEY.match(key)
    if not match:
        raise BadEventError(f"object key {key[:200]!r} is not under datasets/<model>/")
    if any(part in ("", ".", "..") for part in match["rest"].split("/")) or key.endswith("/"):
        raise BadEventError(f"object key {key[:200]!r} has an empty, '.' or '..' path segment")
    if not _MODEL_NAME.match(match["model"]):
        raise BadEventError(f"{match['model'][:64]!r} in {key[:200]!r} is not a valid model name")
    return match["model"]


def __getattr__(name: str) -> Any:
    # A source's models, from its module (loaded now): `from seam.models.events import ManualRequest`.
    if name in _MODULE_OF:
        return getattr(importlib.import_module(_MODULE_OF[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
