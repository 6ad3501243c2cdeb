"""Gold of an incremental phase-1 run: the touched groups recomputed from the silver rows the run
removed and added, not from a scan of every silver row of those groups.

The silver change of a run is a set of rows removed (``delta/replaced/orders_enriched.parquet``) and a
set added (the run's silver part). Silver joins each order to the one valid row of its customer and
product, and a changed customer or product re-computes every silver row it has, so within the live
rows a customer's segment and state and a product's name and category are the same on every row.
From that:
- counts and sums of a touched group = the base gold value + the added rows - the removed rows;
- a product's name and category = those of its added rows when it has any, else the base gold's;
- distinct customers per date or state = the base count + the (group, customer) pairs of the change
  present after the run - those present before (their live row counts come from the one scan below);
- customer_metrics (MIN/MAX dates, which removals cannot undo) is computed by its own SQL over every
  live silver row of the touched customers: one scan of silver filtered by customer, whose rows
  also give the pair counts.
A group left without rows disappears, as in a full recomputation.
"""

from __future__ import annotations

from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline._duck import TaskContext, quote_path, sql_text
from lakehouse_core.pipeline.parts import table_sql

CHANGE = "gold_change"
"""Temp table: the silver rows removed (``sign`` -1) and added (+1) by the run."""
CUSTOMER_ROWS = "gold_customer_rows"
"""Temp table: every live silver row (after the run) of the customers the change touches."""
GROUP_OF = {"daily_sales": "order_date", "customer_metrics": "customer_id",
            "product_performance": "product_id", "regional_sales": "state"}
"""Gold table -> the silver column its key comes from."""
_COLUMNS = "order_date, customer_id, product_id, state, product_name, category, quantity, revenue"


def prepare(ctx: TaskContext, paths: DataPaths, removed: object, added: object) -> None:
    """The change and the touched customers' live rows, as temp tables (each input read once).

    ``removed``: Parquet of the base silver rows the run removed; ``added``: the run's silver part.
    """
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE {CHANGE} AS "
                f"SELECT -1 AS sign, {_COLUMNS} FROM read_parquet({quote_path(str(removed))}) "
                f"UNION ALL SELECT 1 AS sign, {_COLUMNS} FROM read_parquet({quote_path(str(added))})")
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE {CUSTOMER_ROWS} AS "
                f"SELECT customer_id, customer_segment, order_date, state, revenue "
                f"FROM {table_sql(paths.silver_orders)} "
                f"WHERE customer_id IN (SELECT customer_id FROM {CHANGE})")


def touched_groups(table: str) -> str:
    """SELECT of the distinct groups (column ``g``) of ``table`` the change touches."""
    return f"SELECT DISTINCT {GROUP_OF[table]} AS g FROM {CHANGE}"


def _distinct_customers(table: str, key: str, base: str) -> str:
    """Rows (key, num_orders, total_revenue, unique_customers) of the touched groups of a gold table
    counting orders, revenue and distinct customers per ``GROUP_OF[table]``."""
    g = GROUP_OF[table]
    return f"""
        WITH pairs AS (
            SELECT {g} AS g, customer_id, SUM(sign) AS moved FROM {CHANGE} GROUP BY ALL),
        counted AS (
            SELECT p.g, p.moved, COUNT(r.customer_id) AS now
            FROM pairs p LEFT JOIN {CUSTOMER_ROWS} r
              ON r.{g} IS NOT DISTINCT FROM p.g AND r.customer_id = p.customer_id
            GROUP BY p.g, p.customer_id, p.moved),
        seen AS (
            SELECT g, SUM(CAST(now > 0 AS BIGINT)) - SUM(CAST(now - moved > 0 AS BIGINT)) AS customers
            FROM counted GROUP BY g),
        sums AS (
            SELECT {g} AS g, SUM(sign) AS orders, SUM(sign * revenue) AS revenue FROM {CHANGE} GROUP BY 1)
        SELECT s.g AS {key},
               CAST(COALESCE(b.num_orders, 0) + s.orders AS BIGINT) AS num_orders,
               CAST(COALESCE(b.total_revenue, 0) + s.revenue AS DECIMAL(18, 2)) AS total_revenue,
               CAST(COALESCE(b.unique_customers, 0) + c.customers AS BIGINT) AS unique_customers
        FROM sums s JOIN seen c ON c.g IS NOT DISTINCT FROM s.g
        LEFT JOIN {base} b ON b.{key} IS NOT DISTINCT FROM s.g
        WHERE COALESCE(b.num_orders, 0) + s.orders > 0"""


def recomputed_rows(ctx: TaskContext, table: str, key: str, base: str) -> str:
    """A SELECT of the new rows of ``table``'s touched groups (schema and order of a full run's rows).

    ``base``: a relation of the base run's gold ``table``. Binds the view ``silver_orders_enriched``
    (customer_metrics reads it through its own SQL).
    """
    if table == "customer_metrics":
        ctx.view("silver_orders_enriched", f"SELECT * FROM {CUSTOMER_ROWS}")
        return sql_text("gold_customer_metrics")
    if table == "daily_sales":  # avg_order_value as gold_daily_sales.sql rounds it (half-up, cents)
        return (f"SELECT *, CAST(CAST((2 * CAST(total_revenue * 100 AS BIGINT) + num_orders) "
                f"// (2 * num_orders) AS DECIMAL(18, 0)) * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2)) "
                f"AS avg_order_value FROM ({_distinct_customers(table, key, base)}) ORDER BY {key}")
    if table == "regional_sales":
        return f"SELECT * FROM ({_distinct_customers(table, key, base)}) ORDER BY {key}"
    if table == "product_performance":
        return f"""
            WITH s AS (
                SELECT product_id, COUNT(*) FILTER (WHERE sign = 1) AS added,
                       MIN(product_name) FILTER (WHERE sign = 1) AS product_name,
                       MIN(category) FILTER (WHERE sign = 1) AS category,
                       SUM(sign) AS orders, SUM(sign * quantity) AS units, SUM(sign * revenue) AS revenue
                FROM {CHANGE} GROUP BY product_id)
            SELECT s.product_id,
                   CASE WHEN s.added > 0 THEN s.product_name ELSE b.product_name END AS product_name,
                   CASE WHEN s.added > 0 THEN s.category ELSE b.category END AS category,
                   CAST(COALESCE(b.num_orders, 0) + s.orders AS BIGINT) AS num_orders,
                   CAST(COALESCE(b.units_sold, 0) + s.units AS BIGINT) AS units_sold,
                   CAST(COALESCE(b.total_revenue, 0) + s.revenue AS DECIMAL(18, 2)) AS total_revenue
            FROM s LEFT JOIN {base} b ON b.product_id = s.product_id
            WHERE COALESCE(b.num_orders, 0) + s.orders > 0
            ORDER BY s.product_id"""
    raise ValueError(f"no incremental gold for {table}")
