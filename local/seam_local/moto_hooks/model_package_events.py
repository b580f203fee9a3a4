"""The Model Registry emits its approval changes. An UpdateModelPackage puts "SageMaker Model Package
State Change" on the default bus, as SageMaker does (moto emits no event), so an approval given with
the real AWS CLI against the local endpoint (or `seam approve`) starts the deploy run. It also keeps
the package's other CustomerMetadataProperties, as SageMaker does: moto replaces them all.

The event's detail is the package as DescribeModelPackage shows it (SageMaker's event carries the
package's description: group, version, ARN, status, approval status, approval description, creation
and last-modified time and who changed it), with timestamps as ISO 8601 text.

moto member: `moto.sagemaker.models.SageMakerModelBackend.update_model_package` (wrapped: moto still
updates the package); moto has no notification point for model package changes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.events.models import events_backends
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

from seam_local.moto_hooks.envelope import eventbridge_event
from seam_local.moto_hooks.patching import Hook, Patch

DETAIL_TYPE = "SageMaker Model Package State Change"


def _update_model_package(
    self: SageMakerModelBackend,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    package = _package(self, model_package_arn)
    merged = {**(package.customer_metadata_properties or {}), **(customer_metadata_properties or {})}
    if model_approval_status is None:  # moto would clear it; SageMaker keeps what is not asked to change
        model_approval_status = package.model_approval_status
    if approval_description is None:
        approval_description = package.approval_description
    arn = UPDATE.original(
        self,
        model_package_arn,
        model_approval_status,
        approval_description,
        merged or None,
        customer_metadata_properties_to_remove,
        additional_inference_specifications_to_add,
    )
    event = model_package_state_change(_package(self, arn), self.account_id, self.region_name)
    events_backends[self.account_id][self.region_name].put_events([event])
    return arn


def _package(backend: SageMakerModelBackend, arn: str) -> Any:
    return backend.model_packages[backend.model_package_name_mapping.get(arn, arn)]


def model_package_state_change(package: Any, account: str, region: str) -> dict[str, Any]:
    """A PutEvents entry with SageMaker's "SageMaker Model Package State Change" detail."""
    detail = package.gen_response_object()
    for key in ("CreationTime", "LastModifiedTime"):
        if isinstance(detail.get(key), datetime):
            detail[key] = detail[key].astimezone(UTC).isoformat(timespec="milliseconds")
    return {
        "Source": "aws.sagemaker",
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail, default=str),
        "Resources": [package.arn],
    }


def package_event(arn: str, *, account: str, region: str) -> dict[str, Any]:
    """The event as EventBridge delivers it (the envelope around the detail), for tests that deliver
    it themselves."""
    backend = sagemaker_backends[account][region]
    entry = model_package_state_change(_package(backend, arn), account, region)
    source, detail_type, detail = entry["Source"], entry["DetailType"], json.loads(entry["Detail"])
    return eventbridge_event(source, detail_type, account, region, entry["Resources"], detail)


UPDATE = Patch(
    SageMakerModelBackend,
    "update_model_package",
    _update_model_package,
    params=(
        "self",
        "model_package_arn",
        "model_approval_status",
        "approval_description",
        "customer_metadata_properties",
        "customer_metadata_properties_to_remove",
        "additional_inference_specifications_to_add",
    ),
)
HOOK: Hook[None] = Hook([UPDATE])
check = HOOK.check
