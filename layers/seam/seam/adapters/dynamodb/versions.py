"""Model versions and the champion pointer (ModelVersionsTable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seam.adapters.aws import aws_call
from seam.adapters.dynamodb.codec import from_item, to_item
from seam.adapters.dynamodb.table import Table
from seam.errors import StaleUpdateError
from seam.models.champion import Champion

if TYPE_CHECKING:  # written by Register, which loads it; the other readers of this table never do
    from seam.models.version import ModelVersion


class VersionStore(Table):
    """Versions under (model, version); the champion pointer is the item (model, "champion")."""

    CHAMPION = "champion"

    def put_version(self, version: ModelVersion) -> None:
        with aws_call(f"PutItem {self.table}/{version.model}/{version.version}"):
            self.ddb.put_item(TableName=self.table, Item=to_item(version.model_dump(mode="json")))

    def get_version(self, model: str, version: str) -> ModelVersion | None:
        """One version's record (None when Seam never registered it)."""
        with aws_call(f"GetItem {self.table}/{model}/{version}"):
            item = self.ddb.get_item(
                TableName=self.table, Key={"model": {"S": model}, "version": {"S": version}}
            ).get("Item")
        if not item:
            return None
        from seam.models.version import ModelVersion  # see the TYPE_CHECKING import above

        return ModelVersion.model_validate(from_item(item))

    def champion(self, model: str) -> Champion | None:
        with aws_call(f"GetItem {self.table}/{model}/champion"):
            item = self.ddb.get_item(
                TableName=self.table,
                ConsistentRead=True,
                Key={"model": {"S": model}, "version": {"S": self.CHAMPION}},
            ).get("Item")
        if not item:
            return None
        data = from_item(item)
        return Champion.model_validate({**data, "version": data["champion_version"]})

    def promote(self, champion: Champion, replaces: str | None) -> None:
        """Move the pointer only if it still points at the version the challenger was compared with."""
        item = to_item(
            {
                **champion.model_dump(mode="json"),
                "champion_version": champion.version,
                "version": self.CHAMPION,
            }
        )
        condition, values = "attribute_not_exists(champion_version)", {}
        if replaces is not None:
            condition, values = "champion_version = :old", {":old": {"S": replaces}}
        try:
            with aws_call(f"PutItem {self.table}/{champion.model}/champion"):
                self.ddb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
        except StaleUpdateError as exc:
            raise StaleUpdateError(
                f"champion of {champion.model} moved since evaluation (expected {replaces})"
            ) from exc
