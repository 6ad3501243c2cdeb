"""Report: phase 3's results — the 14-day revenue trend as a chart, the top customers, the revenue by
category and the time-travel count — read through ``backend.phases.last_results()``."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Header, Label

from lakehouse_core.report import BusinessReport, business_report
from tui.messages import ReportLoaded
from tui.screens.base import LakehouseScreen
from tui.widgets import fmt
from tui.widgets.footer import LakehouseFooter
from tui.widgets.revenue_chart import RevenueChart

NO_REPORT = "no phase-3 results yet: escape, then 1, 2 and 3 (phase 3 reads the tables phases 1-2 make)"

CSS = """
ReportScreen #report-title, ReportScreen #time-travel { padding: 0 1; width: 100%; }
ReportScreen #report-body { height: 1fr; }
ReportScreen #trend-box { width: 1fr; height: 1fr; border: round $primary; }
ReportScreen #report-side { width: 46; height: 1fr; }
ReportScreen #report-side DataTable { height: auto; border-top: round $primary; }
"""


def money(value: float) -> str:
    return f"{value:,.2f}"


class ReportScreen(LakehouseScreen):
    """Pushed from the Overview (``v``); ``r`` reads the last phase-3 result again."""

    DEFAULT_CSS = CSS
    TITLE_TEXT = "Report"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="report.close"),
        Binding("r", "refresh", "Refresh", id="report.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__(id="report-screen")
        self.report: BusinessReport | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("reading phase 3's last result…", id="report-title", markup=False)
        yield Label("", id="time-travel", markup=False)
        with Horizontal(id="report-body"):
            with Vertical(id="trend-box"):
                yield RevenueChart(id="revenue-chart", empty_text="no days in gold.daily_sales")
            with VerticalScroll(id="report-side"):
                yield DataTable(id="top-customers", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="categories", cursor_type="row", zebra_stripes=True)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self.query_one("#top-customers", DataTable).add_columns("Customer", "Orders", "Lifetime value")
        self.query_one("#categories", DataTable).add_columns("Category", "Revenue", "Units")
        self.query_one("#top-customers").border_title = "Top 10 customers by lifetime value"
        self.query_one("#categories").border_title = "Revenue by category"
        self.query_one("#trend-box").border_title = "Daily revenue (last 14 days)"
        self.query_one("#report-body").display = False
        self.query_one("#time-travel").display = False
        self.action_refresh()

    def action_close(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        self.load_report()

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def load_report(self) -> None:
        result = self.backend.phases.last_results().get(3)
        self.post_message(ReportLoaded(business_report(result) if result is not None else None))

    @on(ReportLoaded)
    def show_report(self, message: ReportLoaded) -> None:
        report = self.report = message.report
        title = self.query_one("#report-title", Label)
        body = self.query_one("#report-body")
        if report is None:
            title.update(NO_REPORT)
            body.display = False
            self.query_one("#time-travel", Label).display = False
            return
        self.query_one("#time-travel", Label).display = True
        state = "ok" if report.ok else f"failed: {report.error}"
        engine = f" · via {report.engine}" if report.engine else ""
        title.update(f"Phase 3 · run {report.run_id} · {fmt.when(report.started_at)}{engine} · {state}")
        body.display = True
        self.query_one(RevenueChart).show(report.trend)
        trend_box = self.query_one("#trend-box")
        if report.trend:
            first, last = report.trend[0].day, report.trend[-1].day
            trend_box.border_title = f"Daily revenue {first:%m-%d} … {last:%m-%d}"
            total = sum(d.revenue for d in report.trend)
            orders = sum(d.orders for d in report.trend)
            trend_box.border_subtitle = f"{money(total)} · {orders:,} orders"
        customers = self.query_one("#top-customers", DataTable)
        customers.clear()
        for c in report.top_customers:
            customers.add_row(
                Text(c.customer_id), f"{c.orders:,}", Text(money(c.lifetime_value), justify="right")
            )
        customers.focus()  # one focus whatever painted first: up/down move through the customers
        categories = self.query_one("#categories", DataTable)
        categories.clear()
        for g in report.categories:
            categories.add_row(Text(g.category), Text(money(g.revenue), justify="right"), f"{g.units:,}")
        travel = report.time_travel
        self.query_one("#time-travel", Label).update(
            "Time travel: not run"
            if travel is None
            else f"Time travel: bronze.orders {travel.count_then:,} rows at snapshot {travel.snapshot_id}"
            f" ({fmt.when(travel.committed_at)[:16]}) → {travel.count_now:,} now"
        )
