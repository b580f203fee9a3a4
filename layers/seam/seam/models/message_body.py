"""An SQS message body as Seam's event parsers read it: within SQS's size limit, a JSON object, and a
pydantic error told in one line. Shared by the trigger's events (events.py) and the training
callback's (training_events.py), so that neither function loads the other's event models."""

import json
from typing import Any

from pydantic import ValidationError

from seam.errors import BadEventError

MAX_BODY_BYTES = 256 * 1024  # SQS message size limit; anything larger is not from AWS


def load_body(body: str) -> dict[str, Any]:
    if len(body.encode()) > MAX_BODY_BYTES:
        raise BadEventError(f"message body is {len(body.encode())} bytes, over the {MAX_BODY_BYTES} limit")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise BadEventError(f"message body is not JSON: {exc}") from exc
    except RecursionError as exc:  # e.g. '{"a":' x 40000: well under the size limit
        raise BadEventError("message body is JSON nested too deeply to parse") from exc
    if not isinstance(payload, dict):
        raise BadEventError(f"message body is a JSON {type(payload).__name__}, not an object")
    return payload


def validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"
