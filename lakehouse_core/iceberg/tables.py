"""Iceberg table definitions of the lakehouse, derived from lakehouse_core.schemas.

Field ids are the 1-based column positions of the schemas.py contract (stable across runs and
catalogs); partition field ids start at 1000 as Iceberg does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform, Transform
from pyiceberg.types import (
    DateType,
    DecimalType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

from lakehouse_core import schemas
from lakehouse_core.paths import GOLD_TABLES, DataPaths

LAYERS = ("bronze", "silver", "gold")
FIRST_PARTITION_FIELD_ID = 1000


def iceberg_type(arrow_type: pa.DataType) -> IcebergType:
    """Iceberg type of one arrow type of the schemas.py contract."""
    if pa.types.is_int64(arrow_type):
        return LongType()
    if pa.types.is_int32(arrow_type):
        return IntegerType()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return StringType()
    if pa.types.is_date32(arrow_type):
        return DateType()
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return TimestampType()
    if pa.types.is_decimal(arrow_type):
        return DecimalType(arrow_type.precision, arrow_type.scale)
    raise TypeError(f"no Iceberg mapping for arrow type {arrow_type}")


def iceberg_schema(arrow_schema: pa.Schema) -> Schema:
    """Iceberg schema with stable field ids (1-based position); every column optional."""
    return Schema(
        *(
            NestedField(i, f.name, iceberg_type(f.type), required=False)
            for i, f in enumerate(arrow_schema, start=1)
        )
    )


@dataclass(frozen=True)
class TableDef:
    """One lakehouse table: identifier, arrow contract, partitioning and source Parquet."""

    namespace: str
    name: str
    arrow_schema: pa.Schema
    partition: tuple[tuple[str, str], ...]  # (source column, "identity" | "day")
    source: Callable[[DataPaths], Path]

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def schema(self) -> Schema:
        return iceberg_schema(self.arrow_schema)

    @property
    def partition_spec(self) -> PartitionSpec:
        schema = self.schema
        fields = []
        for offset, (column, kind) in enumerate(self.partition):
            transform: Transform = DayTransform() if kind == "day" else IdentityTransform()
            name = f"{column}_day" if kind == "day" else column
            fields.append(
                PartitionField(
                    source_id=schema.find_field(column).field_id,
                    field_id=FIRST_PARTITION_FIELD_ID + offset,
                    transform=transform,
                    name=name,
                )
            )
        return PartitionSpec(*fields)

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.partition)

    def source_path(self, paths: DataPaths) -> Path:
        return self.source(paths)


def _bronze(table: str) -> Callable[[DataPaths], Path]:
    return lambda p: p.bronze_parquet(table)


def _gold(table: str) -> Callable[[DataPaths], Path]:
    return lambda p: p.gold_parquet(table)


TABLES: tuple[TableDef, ...] = (
    TableDef("bronze", "customers", schemas.BRONZE["customers"], (), _bronze("customers")),
    TableDef(
        "bronze", "products", schemas.BRONZE["products"], (("category", "identity"),), _bronze("products")
    ),
    TableDef("bronze", "orders", schemas.BRONZE["orders"], (("order_date", "day"),), _bronze("orders")),
    TableDef(
        "silver",
        "orders_enriched",
        schemas.SILVER_ORDERS_ENRICHED,
        (("order_year", "identity"), ("order_month", "identity")),
        lambda p: p.silver_orders,
    ),
    *(TableDef("gold", name, schemas.GOLD[name], (), _gold(name)) for name in GOLD_TABLES),
)

TABLES_BY_ID: dict[str, TableDef] = {t.identifier: t for t in TABLES}


def table_def(identifier: str) -> TableDef:
    """The definition of ``namespace.table`` (KeyError when not a lakehouse table)."""
    return TABLES_BY_ID[identifier]
