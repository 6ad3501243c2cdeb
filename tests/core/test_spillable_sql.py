"""The distinct counts of gold and the KPI report (over gold.customer_metrics) are two GROUP BY levels
(which DuckDB spills) instead of COUNT(DISTINCT ...): on hand-made data each gives exactly the rows,
and the column types, of the COUNT(DISTINCT) form it replaced."""

from __future__ import annotations

import duckdb
import pytest

from lakehouse_core.pipeline._duck import sql_text

# The forms replaced, verbatim but for comments.
DISTINCT_FORMS = {
    "gold_daily_sales": """
WITH d AS (
    SELECT
        order_date,
        COUNT(*) AS num_orders,
        SUM(revenue) AS total_revenue,
        SUM(CAST(revenue * 100 AS BIGINT)) AS revenue_cents,
        COUNT(DISTINCT customer_id) AS unique_customers
    FROM silver_orders_enriched
    GROUP BY order_date
)
SELECT
    order_date AS date,
    CAST(num_orders AS BIGINT) AS num_orders,
    CAST(total_revenue AS DECIMAL(18, 2)) AS total_revenue,
    CAST(unique_customers AS BIGINT) AS unique_customers,
    CAST(CAST((2 * revenue_cents + num_orders) // (2 * num_orders) AS DECIMAL(18, 0))
         * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2)) AS avg_order_value
FROM d
ORDER BY date""",
    "gold_regional_sales": """
SELECT
    state,
    CAST(COUNT(*) AS BIGINT) AS num_orders,
    CAST(SUM(revenue) AS DECIMAL(18, 2)) AS total_revenue,
    CAST(COUNT(DISTINCT customer_id) AS BIGINT) AS unique_customers
FROM silver_orders_enriched
GROUP BY state
ORDER BY state""",
    "kpi_report": """
SELECT
    COALESCE(CAST(SUM(revenue) AS DECIMAL(18, 2)), CAST(0 AS DECIMAL(18, 2))) AS total_revenue,
    CAST(COUNT(*) AS BIGINT) AS total_orders,
    CAST(COUNT(DISTINCT customer_id) AS BIGINT) AS total_customers
FROM silver_orders_enriched""",
}

# (order_date, customer_id, state, revenue): several orders of one customer on one day and across
# days, a customer in two states, NULL state / customer / revenue, zero and odd-cent revenues
# (rounding of avg_order_value), a day with one order.
HAND_MADE = [
    ("2024-01-01", 1, "CA", "10.00"), ("2024-01-01", 1, "CA", "0.01"), ("2024-01-01", 1, "CA", "5.55"),
    ("2024-01-01", 2, "NY", "0.00"), ("2024-01-01", 3, None, "7.35"), ("2024-01-02", 1, "CA", "99.99"),
    ("2024-01-02", 2, "NY", "0.05"), ("2024-01-02", 2, "TX", "1.15"), ("2024-01-02", None, "TX", "3.00"),
    ("2024-01-02", None, "TX", "4.00"), ("2024-01-03", 4, "CA", None), ("2024-01-03", 4, "CA", "2.50"),
    ("2024-01-04", 5, "WA", "123456789.99"), ("2024-01-05", 6, "CA", None),
]


Row = tuple[str, int | None, str | None, str | None]


def _con(rows: list[Row], generated: int = 0) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE silver_rows "
                "(order_date DATE, customer_id BIGINT, state VARCHAR, revenue DECIMAL(18, 2))")
    if rows:
        con.executemany("INSERT INTO silver_rows VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE VIEW silver_orders_enriched AS "
                "SELECT *, 'Regular' AS customer_segment FROM silver_rows")
    # the KPI report reads gold.customer_metrics
    con.execute(f"CREATE VIEW gold_customer_metrics AS {sql_text('gold_customer_metrics')}")
    if generated:  # many customers over many days and states, deterministic
        con.execute(f"""INSERT INTO silver_rows
            SELECT DATE '2024-01-01' + CAST(i % 97 AS INTEGER), CAST(hash(i) % 5000 AS BIGINT),
                   'S' || CAST(hash(i * 7) % 13 AS VARCHAR),
                   CAST((hash(i * 3) % 100000) / 100 AS DECIMAL(18, 2))
            FROM range({generated}) t(i)""")
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[tuple[object, ...]], list[str]]:
    cur = con.execute(sql)
    types = [str(d[1]) for d in cur.description or []]
    return cur.fetchall(), types


@pytest.mark.parametrize("name", sorted(DISTINCT_FORMS))
@pytest.mark.parametrize(("rows", "generated"), [(HAND_MADE, 0), ([], 0), (HAND_MADE, 50_000)],
                         ids=["hand-made", "empty", "hand-made+50k"])
def test_the_two_level_form_gives_the_rows_of_the_distinct_form(
    name: str, rows: list[Row], generated: int
) -> None:
    con = _con(rows, generated)
    new, old = _rows(con, sql_text(name)), _rows(con, DISTINCT_FORMS[name])
    assert new == old
    if rows:
        assert new[0], name  # the data gave rows to compare


def test_the_hand_made_rows_are_what_the_distinct_forms_say() -> None:
    con = _con(HAND_MADE)
    regional, _ = _rows(con, sql_text("gold_regional_sales"))
    by_state = {r[0]: r[1:] for r in regional}
    # TX: customer 2 and two orders of no customer: 3 orders, 1 customer
    assert by_state["TX"][0] == 3 and by_state["TX"][2] == 1
    assert by_state["CA"][2] == 3  # customers 1, 4, 6
    daily, _ = _rows(con, sql_text("gold_daily_sales"))
    assert [(str(d[0]), d[1], d[3]) for d in daily[:2]] == [("2024-01-01", 5, 3), ("2024-01-02", 5, 2)]
    (kpis,), _ = _rows(con, sql_text("kpi_report"))
    assert kpis[1:] == (14, 6)


def test_no_query_of_the_pipeline_counts_distinct_values() -> None:
    from importlib import resources

    sql_dir = resources.files("lakehouse_core.pipeline").joinpath("sql")
    for entry in sql_dir.iterdir():
        if entry.name.endswith(".sql"):
            body = "\n".join(line for line in entry.read_text("utf-8").splitlines()
                             if not line.lstrip().startswith("--"))
            assert "DISTINCT" not in body.upper(), entry.name
