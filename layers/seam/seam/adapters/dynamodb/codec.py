"""JSON values <-> DynamoDB attribute values ({"S": ...}, {"N": ...}, ...), the only place that knows
the attribute-value shapes besides the stores' keys and conditions.

What boto3's TypeSerializer gives for JSON values (tests/unit check it), without importing boto3 at
cold start.
"""

from __future__ import annotations

import json
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB numbers: 38 significant digits, exponent -128..+126; anything else is refused, not rounded.
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """A dict of JSON values as DynamoDB attribute values (None values left out)."""
    # DynamoDB wants decimal strings, never floats; a JSON round trip does it for nested values too.
    plain = json.loads(json.dumps(data, default=str), parse_float=Decimal)
    return {k: _attribute(v) for k, v in plain.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values back to JSON values (integral numbers as int, others as float)."""
    return {k: _json_value(v) for k, v in item.items()}


def to_attribute(value: Any) -> dict[str, Any]:
    """One JSON value as an attribute value (e.g. for ExpressionAttributeValues)."""
    return to_item({"v": value})["v"]


def _attribute(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(_NUMBERS.create_decimal(value))}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def _json_value(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind in ("S", "BOOL"):
        return value
    if kind == "N":
        return _number(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _json_value(v) for k, v in value.items()}
    if kind == "L":
        return [_json_value(v) for v in value]
    if kind == "SS":
        return sorted(value)
    if kind == "NS":
        return sorted(_number(n) for n in value)
    raise TypeError(f"DynamoDB type {kind} has no JSON value")


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)
