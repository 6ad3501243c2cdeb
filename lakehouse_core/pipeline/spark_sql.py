"""The silver and gold transforms on Spark: the DuckDB SQL files of ``pipeline/sql``, transpiled.

One definition, two engines: ``sql/<name>.sql`` is written for DuckDB (phase 1 runs it) and turned
into Spark SQL here with sqlglot (DuckDB -> Spark dialect) plus the rewrites sqlglot 30 does not do
itself, each a DuckDB-only spelling the SQL files use:

- ``EXTRACT(ISODOW FROM d)`` (ISO day of week, Monday = 1): Spark's unit is ``DAYOFWEEK_ISO``;
- ``a // b`` (integer division): sqlglot already writes Spark's ``a DIV b``;
- ``DATE_DIFF('day', a, b)``: sqlglot writes ``DATEDIFF(DAY, a, b)``, which Spark 3.3+ accepts
  (the three-argument form, ``TIMESTAMPDIFF``).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from lakehouse_core.pipeline._duck import sql_text

SILVER_SQL = "silver_orders_enriched"
GOLD_SQL = ("gold_daily_sales", "gold_customer_metrics", "gold_product_performance", "gold_regional_sales")

_EXTRACT_UNITS = {"ISODOW": "DAYOFWEEK_ISO"}
"""DuckDB EXTRACT units Spark spells differently."""


def _spark_units(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Extract):
        unit = node.this
        name = unit.name.upper() if isinstance(unit, exp.Var | exp.Identifier | exp.Column) else ""
        if name in _EXTRACT_UNITS:
            node.set("this", exp.var(_EXTRACT_UNITS[name]))
    return node


def to_spark(duckdb_sql: str) -> str:
    """One DuckDB SELECT statement as Spark SQL (comments dropped)."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    return tree.transform(_spark_units).sql(dialect="spark", comments=False)


def spark_sql_text(name: str) -> str:
    """``sql/<name>.sql`` (a DuckDB statement) as Spark SQL."""
    return to_spark(sql_text(name))


def spark_type(arrow_type: object) -> str:
    """Spark SQL type of one arrow type of the schemas.py contract (as Iceberg stores it)."""
    import pyarrow as pa

    assert isinstance(arrow_type, pa.DataType)
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_int32(arrow_type):
        return "INT"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "STRING"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return "TIMESTAMP_NTZ"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    raise TypeError(f"no Spark mapping for arrow type {arrow_type}")


def spark_columns(arrow_schema: object) -> list[tuple[str, str]]:
    """``(column, Spark type)`` of a contract schema, in order (Iceberg field ids follow it)."""
    import pyarrow as pa

    assert isinstance(arrow_schema, pa.Schema)
    return [(f.name, spark_type(f.type)) for f in arrow_schema]
