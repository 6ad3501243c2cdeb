"""Engine SQL rewrites done with sqlglot: the tables a DuckDB statement reads, Dremio's as-of clauses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lakehouse_core.backends.stack.dremio import apply_as_of
from lakehouse_core.engines.duckdb_sql import referenced_tables
from lakehouse_core.errors import QueryError
from lakehouse_core.models import AsOf

KNOWN = [("bronze", "orders"), ("gold", "daily_sales"), ("Silver", "Items")]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM bronze.orders", {("bronze", "orders")}),
        ('SELECT * FROM "bronze"."orders"', {("bronze", "orders")}),
        ("SELECT * FROM BRONZE.Orders", {("bronze", "orders")}),
        ('SELECT * FROM "Bronze" . orders', {("bronze", "orders")}),
        ("SELECT * FROM silver.items", {("Silver", "Items")}),
        (
            "SELECT * FROM bronze.orders AS o JOIN gold.daily_sales d ON o.d = d.date",
            {("bronze", "orders"), ("gold", "daily_sales")},
        ),
        (
            "SELECT (SELECT max(x) FROM gold.daily_sales) FROM (SELECT * FROM bronze.orders) s",
            {("bronze", "orders"), ("gold", "daily_sales")},
        ),
        ("SELECT bronze.orders FROM other.thing AS bronze", set()),  # a column of an alias, not a table
        (
            "WITH daily_sales AS (SELECT * FROM bronze.orders) SELECT * FROM daily_sales",
            {("bronze", "orders")},
        ),
        ("SELECT 'gold.daily_sales' /* bronze.orders */ -- silver.items\n", set()),
        ("FROM gold.daily_sales VERSION AS OF 3", {("gold", "daily_sales")}),
        ("SUMMARIZE gold.daily_sales", {("gold", "daily_sales")}),
        ("COPY (SELECT * FROM gold.daily_sales) TO 'x.csv'", {("gold", "daily_sales")}),
        # sqlglot reads EXPLAIN ANALYZE as an opaque command: the names come from the tokens
        ("EXPLAIN ANALYZE SELECT 'silver.items' FROM bronze.orders", {("bronze", "orders")}),
        ("SELEC * FROM gold.daily_sales", {("gold", "daily_sales")}),
    ],
)
def test_referenced_tables(sql: str, expected: set[tuple[str, str]]) -> None:
    assert referenced_tables(sql, KNOWN) == expected


SNAPSHOT = AsOf(snapshot_id=5393090506354317772)
AT = "AT SNAPSHOT '5393090506354317772'"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM bronze.orders", f"SELECT * FROM bronze.orders {AT}"),
        ('select * from "Bronze"."Orders" o', f'select * from "Bronze"."Orders" {AT} o'),
        (
            "SELECT * FROM bronze.orders AS o JOIN (SELECT * FROM gold.daily_sales) d ON true",
            f"SELECT * FROM bronze.orders {AT} AS o JOIN (SELECT * FROM gold.daily_sales {AT}) d ON true",
        ),
        (
            "WITH orders AS (SELECT * FROM bronze.orders) SELECT * FROM orders",
            f"WITH orders AS (SELECT * FROM bronze.orders {AT}) SELECT * FROM orders",
        ),
        (
            "SELECT 'FROM bronze.orders', x FROM t /* JOIN gold.daily_sales */ -- FROM silver.items\n",
            f"SELECT 'FROM bronze.orders', x FROM t {AT} /* JOIN gold.daily_sales */ -- FROM silver.items\n",
        ),
        ("SELECT * FROM bronze.orders AT SNAPSHOT '1'", "SELECT * FROM bronze.orders AT SNAPSHOT '1'"),
        ("INSERT INTO a.b SELECT * FROM c.d", f"INSERT INTO a.b SELECT * FROM c.d {AT}"),
        ("DESCRIBE a.b", "DESCRIBE a.b"),
        ("SHOW TABLES", "SHOW TABLES"),  # sqlglot cannot parse it, but it reads no table
        (
            "SELECT * FROM TABLE(table_history('bronze.orders'))",
            "SELECT * FROM TABLE(table_history('bronze.orders'))",
        ),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_dremio_as_of_snapshot(sql: str, expected: str) -> None:
    assert apply_as_of(sql, SNAPSHOT) == expected


def test_dremio_as_of_timestamp_ref_and_none() -> None:
    ts = datetime(2022, 7, 1, 3, 30, 0, 250_000, tzinfo=UTC)
    assert apply_as_of("SELECT * FROM gold.daily_sales g", AsOf(timestamp=ts)) == (
        "SELECT * FROM gold.daily_sales AT TIMESTAMP '2022-07-01 03:30:00.250' g"
    )
    assert apply_as_of("SELECT * FROM gold.daily_sales", AsOf(ref="dev")) == "SELECT * FROM gold.daily_sales"
    assert apply_as_of("SELEC oops", None) == "SELEC oops"


def test_dremio_as_of_refuses_a_statement_it_cannot_parse() -> None:
    with pytest.raises(QueryError, match="could not be parsed"):
        apply_as_of("SELEC * FROM bronze.orders", SNAPSHOT)
    with pytest.raises(QueryError, match="could not be parsed"):
        apply_as_of("SELECT * FROM bronze.orders AT BRANCH main", SNAPSHOT)
