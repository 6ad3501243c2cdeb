"""The platform's phase-3 business queries, in portable SQL over ``namespace.table`` names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BusinessQuery:
    """A named query of phase 3."""

    key: str
    title: str
    sql: str


BUSINESS_QUERIES: tuple[BusinessQuery, ...] = (
    BusinessQuery(
        "daily_revenue_trend",
        "Daily revenue trend (last 14 days)",
        "SELECT date, num_orders, total_revenue, avg_order_value\n"
        "FROM gold.daily_sales\nORDER BY date DESC\nLIMIT 14",
    ),
    BusinessQuery(
        "top_customers",
        "Top 10 customers by lifetime value",
        "SELECT customer_id, total_orders, lifetime_value\n"
        "FROM gold.customer_metrics\nORDER BY lifetime_value DESC, customer_id\nLIMIT 10",
    ),
    BusinessQuery(
        "revenue_by_category",
        "Revenue and units by category",
        "SELECT category, SUM(total_revenue) AS revenue, SUM(units_sold) AS units\n"
        "FROM gold.product_performance\nGROUP BY category\nORDER BY revenue DESC",
    ),
)

TIME_TRAVEL_SQL = "SELECT COUNT(*) AS orders FROM bronze.orders"
"""Run with AsOf(snapshot_id=<an older bronze.orders snapshot>) for the time-travel demo."""
