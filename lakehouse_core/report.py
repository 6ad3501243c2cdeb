"""Phase 3's business report as frozen dataclasses, read from the phase's persisted result.

Phase 3 stores each query's columns and rows in ``PhaseResult.outputs`` (``data/runs/phase-3.json``);
``business_report`` turns them into the 14-day revenue trend (oldest day first), the top customers,
the revenue by category and the time-travel count. No I/O: callers pass the result they read through
``Backend.phases.last_results()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lakehouse_core.models import PhaseResult

NO_TABLES_HINT = "no tables yet: press 1, then 2"
"""What the Overview says when the lakehouse has no table (phase 1 builds the data, phase 2 loads it)."""
NO_TABLES_ELSEWHERE = "no tables yet: press F1, then 1, then 2"
"""The same, on the other screens (F1 opens the Overview)."""


@dataclass(frozen=True)
class RevenueDay:
    """One day of ``gold.daily_sales``."""

    day: date
    orders: int
    revenue: float
    avg_order_value: float


@dataclass(frozen=True)
class CustomerValue:
    """One of the top customers by lifetime value."""

    customer_id: str
    orders: int
    lifetime_value: float


@dataclass(frozen=True)
class CategoryRevenue:
    """Revenue and units sold of one product category."""

    category: str
    revenue: float
    units: int


@dataclass(frozen=True)
class TimeTravelCount:
    """``COUNT(*)`` of bronze.orders at an older snapshot and now."""

    snapshot_id: int
    committed_at: datetime | None
    count_then: int
    count_now: int


@dataclass(frozen=True)
class BusinessReport:
    """What phase 3's last run found; a query that did not run leaves its part empty."""

    run_id: str
    started_at: datetime
    ok: bool
    engine: str
    trend: tuple[RevenueDay, ...] = ()
    top_customers: tuple[CustomerValue, ...] = ()
    categories: tuple[CategoryRevenue, ...] = ()
    time_travel: TimeTravelCount | None = None
    error: str | None = None

    def summary(self) -> str:
        """One short line: ``14 days 1.2M · top 10 · 5 categories · orders 4,990 → 5,000``."""
        parts: list[str] = []
        if self.trend:
            parts.append(f"{len(self.trend)} days {compact(sum(d.revenue for d in self.trend))}")
        if self.top_customers:
            parts.append(f"top {len(self.top_customers)}")
        if self.categories:
            parts.append(f"{len(self.categories)} categories")
        if self.time_travel is not None:
            parts.append(f"orders {self.time_travel.count_then:,} → {self.time_travel.count_now:,}")
        return " · ".join(parts) or (self.error or "no results")


def compact(value: float) -> str:
    """``1.23M``, ``45.6k``, ``789``: an amount in at most 6 characters."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def _rows(outputs: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The rows of one query's payload as dicts keyed by lower-case column name."""
    payload = outputs.get(key)
    if not isinstance(payload, Mapping):
        return []
    columns = [str(c).lower() for c in payload.get("columns", ())]
    return [dict(zip(columns, row, strict=False)) for row in payload.get("rows", ())]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _time_travel(payload: Any) -> TimeTravelCount | None:
    if not isinstance(payload, Mapping) or "snapshot_id" not in payload:
        return None
    try:
        committed = datetime.fromisoformat(str(payload.get("committed_at")))
    except ValueError:
        committed = None
    return TimeTravelCount(
        int(payload["snapshot_id"]),
        committed,
        int(_number(payload.get("count_then"))),
        int(_number(payload.get("count_now"))),
    )


def business_report(result: PhaseResult) -> BusinessReport:
    """The report of a phase-3 result (ValueError for a result of another phase)."""
    if result.phase != 3:
        raise ValueError(f"a business report comes from phase 3, not phase {result.phase}")
    outputs = result.outputs
    trend = [
        RevenueDay(
            day,
            int(_number(r.get("num_orders"))),
            _number(r.get("total_revenue")),
            _number(r.get("avg_order_value")),
        )
        for r in _rows(outputs, "daily_revenue_trend")
        if (day := _day(r.get("date"))) is not None
    ]
    customers = [
        CustomerValue(
            str(r.get("customer_id")), int(_number(r.get("total_orders"))), _number(r.get("lifetime_value"))
        )
        for r in _rows(outputs, "top_customers")
    ]
    categories = [
        CategoryRevenue(str(r.get("category")), _number(r.get("revenue")), int(_number(r.get("units"))))
        for r in _rows(outputs, "revenue_by_category")
    ]
    engines = {
        str(payload["engine"])
        for payload in outputs.values()
        if isinstance(payload, Mapping) and payload.get("engine")
    }
    return BusinessReport(
        run_id=result.run_id,
        started_at=result.started_at,
        ok=result.ok,
        engine=", ".join(sorted(engines)),
        trend=tuple(sorted(trend, key=lambda d: d.day)),
        top_customers=tuple(customers),
        categories=tuple(categories),
        time_travel=_time_travel(outputs.get("time_travel")),
        error=result.error,
    )
