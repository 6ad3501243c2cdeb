"""The Report screen (phase 3's results) and the empty-data-dir messages, on the fake backend and on the
real embedded backend (phases 1-3 at 2,000 orders)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, TextArea, Tree

from lakehouse_core.backends import load_backend
from lakehouse_core.ports import Backend
from lakehouse_core.report import NO_TABLES_ELSEWHERE, NO_TABLES_HINT
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.conftest import embedded_settings
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.overview import OverviewScreen
from tui.screens.report import NO_REPORT, ReportScreen
from tui.screens.sql import SqlScreen
from tui.widgets.phase_panel import PhaseResultsTable, result_summary
from tui.widgets.revenue_chart import RevenueChart

TUI = TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0, display_cap=50, fetch_limit=1_000)


async def open_report(pilot: object) -> ReportScreen:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.press("v")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReportScreen)
    return screen


# ------------------------------------------------------------------ fake backend
async def test_report_view_after_phase_3_on_the_fake_backend(settings: LakehouseSettings) -> None:
    app = LakehouseApp(make_fake_backend(orders=1_000), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        row = cells(overview.query_one("#phase-results"))[2]
        row = dict(zip(["#", "status", "time", "summary"], row[:4], strict=True))
        assert row["status"] == "ok"
        summary = "14 days 91.2k · top 10 · 5 categories · orders 4,990 → 5,000"
        assert summary.startswith(row["summary"].rstrip("…"))  # cut with an ellipsis to the column
        assert text_of(overview.query_one("#phase-status")) == (
            f"phase 3 finished in 1.5 s: {summary}; quality failures 0; snapshots 0"
        )

        report = await open_report(pilot)
        assert text_of(report.query_one("#report-title")) == (
            "Phase 3 · run run-3 · 2026-01-01 12:00:00 · via duckdb · ok"
        )
        chart = report.query_one(RevenueChart)
        assert [d.day.day for d in chart.days] == list(range(1, 15))  # oldest day first
        customers = cells(report.query_one("#top-customers", DataTable))
        assert len(customers) == 10 and customers[0] == ["C07000", "12", "9,800.00"]
        categories = cells(report.query_one("#categories", DataTable))
        assert categories[1] == ["Home [garden]", "198,400.50", "2,377"]  # brackets shown, not markup
        assert text_of(report.query_one("#time-travel")) == (
            "Time travel: bronze.orders 4,990 rows at snapshot 1001 (2026-01-01 11:00) → 5,000 now"
        )
        assert "Report" in [b.description for b in overview.BINDINGS if b.id == "overview.report"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is overview


async def test_report_view_before_phase_3_says_what_to_do(settings: LakehouseSettings) -> None:
    app = LakehouseApp(make_fake_backend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        report = await open_report(pilot)
        assert text_of(report.query_one("#report-title")) == NO_REPORT
        assert not report.query_one("#report-body").display


async def test_empty_catalog_says_what_to_do_on_every_screen(settings: LakehouseSettings) -> None:
    backend = make_fake_backend()
    backend.catalog.list_namespaces = lambda ref=None: []  # type: ignore[method-assign]
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert text_of(app.screen.query_one("#phase-status")) == NO_TABLES_HINT
        await assert_catalog_and_sql_say_what_to_do(pilot)


async def assert_catalog_and_sql_say_what_to_do(pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    app = pilot.app
    await pilot.press("f2")
    await settle(pilot)
    catalog = app.screen
    assert isinstance(catalog, CatalogScreen)
    assert text_of(catalog.query_one("#table-title")) == NO_TABLES_ELSEWHERE
    tree: Tree[object] = catalog.query_one("#catalog-tree", Tree)
    labels = [str(child.label) for ref in tree.root.children for child in ref.children]
    assert labels == ["no tables yet"]
    await pilot.press("f3")
    await settle(pilot)
    sql = app.screen
    assert isinstance(sql, SqlScreen)
    sql.query_one(TextArea).text = "SELECT * FROM nope"
    await pilot.press("ctrl+r")
    await settle(pilot)
    error = text_of(sql.query_one("#query-error"))
    assert error.startswith("Query failed: ") and error.endswith("\n" + NO_TABLES_ELSEWHERE)


# ------------------------------------------------------------------ real embedded backend
@pytest.fixture(scope="module")
def empty_then_filled(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Backend, LakehouseSettings]]:
    settings = embedded_settings(tmp_path_factory.mktemp("tui-report") / "data", orders=2_000, tui=TUI)
    yield load_backend(settings), settings


@pytest.mark.slow
async def test_empty_data_dir_then_phases_1_to_3_on_embedded(
    empty_then_filled: tuple[Backend, LakehouseSettings],
) -> None:
    backend, settings = empty_then_filled
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert text_of(app.screen.query_one("#phase-status")) == NO_TABLES_HINT
        report = await open_report(pilot)
        assert text_of(report.query_one("#report-title")) == NO_REPORT
        await pilot.press("escape")
        await settle(pilot)
        await assert_catalog_and_sql_say_what_to_do(pilot)

    for phase in (1, 2, 3):
        backend.phases.run(phase)
    trend = backend.sql.execute(
        "SELECT date, total_revenue FROM gold.daily_sales ORDER BY date DESC LIMIT 14"
    )
    top = backend.sql.execute(
        "SELECT customer_id FROM gold.customer_metrics ORDER BY lifetime_value DESC, customer_id LIMIT 10"
    )
    orders = backend.sql.execute("SELECT COUNT(*) FROM bronze.orders").tuples(1)[0][0]

    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(PhaseResultsTable)
        summary = result_summary(table.results[3])
        assert "14 days" in summary and "top 10" in summary and f"→ {orders:,}" in summary
        assert summary.startswith(cells(table)[2][3].rstrip("…"))
        report = await open_report(pilot)
        assert await wait_until(pilot, lambda: report.report is not None)
        assert text_of(report.query_one("#report-title")).endswith("· via duckdb · ok")
        chart = report.query_one(RevenueChart)
        expected = sorted((str(d), float(r)) for d, r in trend.tuples())
        assert [(d.day.isoformat(), d.revenue) for d in chart.days] == expected
        shown = [row[0] for row in cells(report.query_one("#top-customers", DataTable))]
        assert shown == [str(row[0]) for row in top.tuples()]
        categories = cells(report.query_one("#categories", DataTable))
        assert categories and all(row[0] != "None" for row in categories)
        assert f"→ {orders:,} now" in text_of(report.query_one("#time-travel"))
