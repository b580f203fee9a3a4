"""The envelope EventBridge delivers an event in, around its detail: what the local SageMaker hooks send
for a job's or a model package's state change, as AWS would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def eventbridge_event(
    source: str, detail_type: str, account: str, region: str, resources: list[str], detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
