"""Reading back what Seam stored, for assertions: listings the product itself never makes."""

from __future__ import annotations

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item
from seam.adapters.dynamodb.versions import VersionStore
from seam.models.version import ModelVersion


def stored_versions(versions: VersionStore, model: str) -> list[ModelVersion]:
    """`model`'s version records in version order, without the champion pointer."""
    with aws_call(f"Query {versions.table}/{model}"):
        items = versions.ddb.query(
            TableName=versions.table,
            KeyConditionExpression="model = :m",
            ExpressionAttributeValues={":m": {"S": model}},
        )["Items"]
    return [
        ModelVersion.model_validate(from_item(i)) for i in items if i["version"]["S"] != versions.CHAMPION
    ]
