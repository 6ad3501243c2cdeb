"""Dremio's JSON result pages as an Arrow table typed by the schema Dremio reports.

Dremio's REST results carry a schema (``{"name": "DECIMAL", "precision": 18, "scale": 2}``...) and rows
as JSON objects: numbers, strings for dates/times/timestamps, objects and lists for nested values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import time
from decimal import Decimal
from typing import Any

import pyarrow as pa

_PLAIN: dict[str, pa.DataType] = {
    "BOOLEAN": pa.bool_(),
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "INT": pa.int32(),
    "BIGINT": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "CHAR": pa.string(),
}
_CAST_FROM_TEXT: dict[str, pa.DataType] = {  # JSON text that Arrow's cast parses
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("ms"),
}


def type_name(field: dict[str, Any]) -> str:
    """The type name of one schema entry (``DECIMAL``, ``VARCHAR``...)."""
    return str((field.get("type") or {}).get("name", ""))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _time(value: Any) -> time | None:
    return None if value is None else time.fromisoformat(str(value))


def column_array(field: dict[str, Any], values: Sequence[Any]) -> pa.Array:
    """One column's JSON values as an Arrow array of the type Dremio reports for it."""
    kind = field.get("type") or {}
    name = type_name(field).upper()
    if name in _PLAIN:
        return pa.array(values, type=_PLAIN[name])
    if name in _CAST_FROM_TEXT:
        return pa.array(values, type=pa.string()).cast(_CAST_FROM_TEXT[name])
    convert: Callable[[Any], Any] | None = None
    target: pa.DataType | None = None
    if name == "DECIMAL" and kind.get("precision") is not None:
        convert, target = _decimal, pa.decimal128(int(kind["precision"]), int(kind.get("scale") or 0))
    elif name == "DECIMAL":  # no precision reported: the JSON numbers as they came
        target = pa.float64()
    elif name == "TIME":
        convert, target = _time, pa.time64("us")
    if target is not None:
        return pa.array([convert(v) for v in values] if convert else values, type=target)
    return pa.array(values)  # nested (LIST, STRUCT, MAP) and anything else: Arrow infers from the JSON


def arrow_table(schema: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> pa.Table:
    """The rows (JSON objects keyed by column name) as one Arrow table with ``schema``'s types."""
    names = [str(field.get("name")) for field in schema]
    arrays = [
        column_array(field, [row.get(n) for row in rows]) for field, n in zip(schema, names, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=names)
