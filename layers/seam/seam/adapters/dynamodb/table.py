"""What every store shares: its table name, client, key and item read."""

from __future__ import annotations

from typing import Any

from seam.adapters.aws import aws_call, client
from seam.adapters.dynamodb.codec import from_item


class Table:
    KEY = ""  # the partition key's name, for stores keyed by one string

    def __init__(self, table_name: str) -> None:
        self.table = table_name

    def key(self, value: str) -> dict[str, Any]:
        return {self.KEY: {"S": value}}

    def read(
        self, value: str, consistent: bool = True, fields: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        """The item keyed `value`, as JSON values (None when there is none); only `fields` (and the key)
        when given, so a caller that needs a few fields neither reads nor parses the rest."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": self.key(value),
            "ConsistentRead": consistent,
        }
        if fields:
            names = {f"#p{i}": name for i, name in enumerate((self.KEY, *fields))}
            request |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        with aws_call(f"GetItem {self.table}/{value}"):
            item = self.ddb.get_item(**request)
        return from_item(item["Item"]) if "Item" in item else None

    @property
    def ddb(self) -> Any:
        return client("dynamodb")
