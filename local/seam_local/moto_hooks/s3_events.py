"""S3's events reach EventBridge as S3 sends them: on the default bus only (moto sends them to every
bus), with S3's field names (`etag`, not `eTag`), a `sequencer` that grows with every write of a key
(moto's is fixed) and the API action as `reason` (PutObject, not ObjectCreated). Seam's trigger reads
all of them.

moto member: `moto.s3.notifications._send_event_bridge_message` (replaced), the one function through
which moto sends a bucket's EventBridge notifications; moto has no public way to shape them.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from typing import Any

import moto.s3.notifications as s3_notifications
from moto.core.utils import unix_time
from moto.events.models import events_backends

from seam_local.moto_hooks.patching import Hook, Patch

log = logging.getLogger(__name__)

# S3's detail-type by notification event name, first match
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html).
_DETAIL_TYPES = {
    "s3:ObjectCreated:": "Object Created",
    "s3:ObjectRemoved:": "Object Deleted",
    "s3:LifecycleExpiration:": "Object Deleted",
    "s3:ObjectRestore:Post": "Object Restore Initiated",
    "s3:ObjectRestore:Completed": "Object Restore Completed",
    "s3:ObjectRestore:Delete": "Object Restore Expired",
    "s3:LifecycleTransition": "Object Storage Class Changed",
    "s3:IntelligentTiering": "Object Access Tier Changed",
    "s3:ObjectAcl:Put": "Object ACL Updated",
    "s3:ObjectTagging:Put": "Object Tags Added",
    "s3:ObjectTagging:Delete": "Object Tags Deleted",
}
_REASONS = {"Put": "PutObject", "Post": "POSTObject", "Copy": "CopyObject"}
_sequencer = itertools.count(0x6A1F00000000000000)


def s3_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
    """The EventBridge event S3 sends for `event_name` (`s3:ObjectCreated:Put`) on `key` in `bucket`."""
    obj: dict[str, Any] = {
        "key": key.name,
        "size": key.size,
        "etag": key.etag.strip('"'),
        "sequencer": f"{next(_sequencer):018X}",  # orders the writes of a key, as S3's does
    }
    if bucket.is_versioned:
        obj["version-id"] = key.version_id
    action = event_name.split(":")[-1]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": next(v for k, v in _DETAIL_TYPES.items() if event_name.startswith(k)),
        "source": "aws.s3",
        "account": account_id,
        "time": unix_time(),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _REASONS.get(action, action),
        },
    }


def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    try:
        event = s3_event(account_id, bucket, event_name, key)
        default_bus = events_backends[account_id][bucket.region_name].event_buses["default"]
        for rule in list(default_bus.rules.values()):
            rule.send_to_targets(event, transform_input=False)
    except Exception:  # delivery is asynchronous in AWS: it never fails the S3 request
        log.exception("S3 event for s3://%s/%s was not delivered", bucket.name, key.name)


SEND = Patch(
    s3_notifications,
    "_send_event_bridge_message",
    _send_event_bridge_message,
    params=("account_id", "bucket", "event_name", "key"),
)
HOOK: Hook[None] = Hook([SEND])
check = HOOK.check
