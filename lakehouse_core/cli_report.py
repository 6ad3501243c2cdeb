"""``lakehouse phase 3`` (and ``run``): the business report as Rich tables (cells are Text, never markup)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lakehouse_core.models import PhaseResult
from lakehouse_core.report import BusinessReport, business_report


def _num(value: float, decimals: int = 2) -> Text:
    return Text(f"{value:,.{decimals}f}")


def report_tables(report: BusinessReport) -> list[Table]:
    """The trend, top customers, categories and time-travel count: one table each, empty parts left out."""
    tables: list[Table] = []
    if report.trend:
        trend = Table(
            "date", "orders", "revenue", "avg order value", title=Text("Daily revenue (last 14 days)")
        )
        for day in report.trend:
            trend.add_row(
                Text(day.day.isoformat()),
                Text(f"{day.orders:,}"),
                _num(day.revenue),
                _num(day.avg_order_value),
            )
        tables.append(trend)
    if report.top_customers:
        top = Table(
            "customer", "orders", "lifetime value", title=Text(f"Top {len(report.top_customers)} customers")
        )
        for customer in report.top_customers:
            top.add_row(
                Text(customer.customer_id), Text(f"{customer.orders:,}"), _num(customer.lifetime_value)
            )
        tables.append(top)
    if report.categories:
        categories = Table("category", "revenue", "units", title=Text("Revenue by category"))
        for category in report.categories:
            categories.add_row(Text(category.category), _num(category.revenue), Text(f"{category.units:,}"))
        tables.append(categories)
    if report.time_travel is not None:
        travel = report.time_travel
        when = travel.committed_at.isoformat(timespec="seconds") if travel.committed_at else ""
        counts = Table(
            "snapshot", "committed at", "rows then", "rows now", title=Text("Time travel: bronze.orders")
        )
        counts.add_row(
            Text(str(travel.snapshot_id)),
            Text(when),
            Text(f"{travel.count_then:,}"),
            Text(f"{travel.count_now:,}"),
        )
        tables.append(counts)
    return tables


def print_report(out: Console, result: PhaseResult) -> None:
    """Print phase 3's report tables after its task lines (nothing for other phases)."""
    if result.phase != 3:
        return
    for table in report_tables(business_report(result)):
        out.print(table)
