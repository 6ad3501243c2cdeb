"""Pilot tests on the REAL embedded backend (load_backend, temp data dir, 5,000 orders, phases 1-2)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import TextArea, Tree

from lakehouse_core.backends import load_backend
from lakehouse_core.models import TableRef
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.conftest import deliver_orders, embedded_settings
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.metrics import MetricsScreen
from tui.screens.modals import ConfirmPhaseModal, InputModal
from tui.screens.sql import SqlScreen
from tui.widgets import fmt
from tui.widgets.metric_chart import MetricChart, SeriesLegend
from tui.widgets.phase_panel import PhaseProgressPanel
from tui.widgets.time_plot import TimeSeriesPlot

pytestmark = pytest.mark.slow
ORDERS = TableRef(("bronze",), "orders")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, LakehouseSettings]]:
    """Phases 1 and 2 on 5,000 orders, then phase 2 again so bronze.orders has two snapshots of the
    same rows (the rerun is made to miss the published fingerprint: a rerun on identical data
    otherwise commits nothing)."""
    from lakehouse_core.phases import wap

    tui = TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0, display_cap=50, fetch_limit=1_000)
    settings = embedded_settings(tmp_path_factory.mktemp("tui-embedded") / "data", tui=tui)
    backend = load_backend(settings)
    backend.phases.run(1)
    backend.phases.run(2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wap, "phase2_fingerprint", lambda paths: "forced rerun")
        assert len(backend.phases.run(2).snapshots) == 8
    yield backend, settings


async def test_overview_and_phase_3_on_embedded(real: tuple[Backend, LakehouseSettings]) -> None:
    backend, settings = real
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        services = cells(app.screen.query_one("#services"))
        assert [row[:2] for row in services] == [
            ["data dir", "up"],
            ["warehouse", "up"],
            ["iceberg catalog", "up"],
            ["duckdb", "up"],
            ["metrics", "up"],
            ["pipeline", "up"],
        ]
        assert services[2][2] == "3 namespaces, 8 tables"
        results = cells(app.screen.query_one("#phase-results"))
        assert [row[1] for row in results] == ["ok", "ok", "never run", "never run"]
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmPhaseModal)
        assert [text_of(t).split(" — ")[0] for t in app.screen.query(".plan-task")] == [
            "1. daily_revenue_trend",
            "2. top_customers",
            "3. revenue_by_category",
            "4. time_travel",
        ]
        await pilot.press("y")
        status = app.screen.query_one("#phase-status")
        assert await wait_until(pilot, lambda: text_of(status).startswith("phase 3 finished"), 60)
        await settle(pilot)
        rows = app.screen.query_one(PhaseProgressPanel).tasks
        assert [r.name for r in rows] == [
            "daily_revenue_trend",
            "top_customers",
            "revenue_by_category",
            "time_travel",
        ]
        assert all(r.finished and r.percentage == 1.0 for r in rows)
        assert cells(app.screen.query_one("#phase-results"))[2][1] == "ok"
        assert backend.phases.last_results()[3].ok


async def test_catalog_on_embedded(real: tuple[Backend, LakehouseSettings]) -> None:
    backend, settings = real
    snapshots = backend.catalog.snapshots(ORDERS)
    assert len(snapshots) == 2
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("down", "enter")  # main > bronze
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # bronze.orders
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CatalogScreen) and screen.table == ORDERS
        rows = cells(screen.query_one("#snapshots"))
        assert [row[2:5] for row in rows] == [
            [str(s.snapshot_id), fmt.when(s.committed_at), s.operation] for s in snapshots
        ]
        assert [row[5] for row in rows] == ["5,000", "5,000"] and rows[1][9] == "5,000"
        assert (
            text_of(screen.query_one("#partition-spec"))
            == "partition spec: day(order_date) as order_date_day"
        )
        assert len(cells(screen.query_one("#files"))) == len(backend.catalog.files(ORDERS))
        screen.query_one("#snapshots").focus()
        await pilot.press("up", "p")  # preview as of the first snapshot
        await settle(pilot)
        expected = backend.catalog.preview(ORDERS, snapshot_id=snapshots[0].snapshot_id, limit=100)
        assert text_of(screen.query_one("#preview-title")) == (
            f"bronze.orders as of snapshot {snapshots[0].snapshot_id}: first 100 rows"
        )
        assert cells(screen.query_one("#preview"))[0] == [
            "NULL" if v is None else str(v) for v in expected.tuples()[0]
        ]
        screen.query_one("#snapshots").focus()
        await pilot.press("m", "down", "m", "d")
        await settle(pilot)
        assert text_of(screen.query_one("#diff-summary")) == (
            f"bronze.orders: {snapshots[0].snapshot_id} -> {snapshots[1].snapshot_id}: +0 added, -0 removed"
        )
        screen.query_one("#snapshots").focus()
        await pilot.press("up", "t")
        await settle(pilot)
        assert isinstance(app.screen, InputModal)
        await pilot.press(*"before-rerun", "enter")
        await settle(pilot)
        refs = {(r.name, r.kind, r.table) for r in backend.catalog.list_refs(ORDERS)}
        assert ("before-rerun", "tag", "bronze.orders") in refs
        assert any(n.title == "Ref created" for n in app._notifications)


async def test_catalog_refs_on_embedded(real: tuple[Backend, LakehouseSettings]) -> None:
    """A ref made from one table's snapshot is that table's only; its head is the current snapshot;
    the files tab shows records and size; a diff goes when another table is shown."""
    backend, settings = real
    first, second = (s.snapshot_id for s in backend.catalog.snapshots(ORDERS))
    backend.catalog.create_ref("first-load", "branch", table=ORDERS, snapshot_id=first)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CatalogScreen)
        tree = screen.query_one(Tree)
        assert [str(n.label) for n in tree.root.children] == ["current", "per-table refs"]
        tree.root.children[1].expand()
        await settle(pilot)
        leaves = [str(n.label) for n in tree.root.children[1].children]
        assert "bronze.orders @ branch first-load" in leaves
        assert all(label.startswith("bronze.orders @ ") for label in leaves)  # no other table has it
        tree.move_cursor(tree.root.children[1].children[leaves.index("bronze.orders @ branch first-load")])
        await pilot.press("enter")
        await settle(pilot)
        assert (screen.table, screen.ref) == (ORDERS, "first-load")
        rows = cells(screen.query_one("#snapshots"))
        assert [(row[1], row[2]) for row in rows] == [("current", str(first))]
        assert not [n for n in app._notifications if n.severity == "error"]
        files = backend.catalog.files(ORDERS, ref="first-load")
        location = backend.catalog.table_detail(ORDERS).location.rstrip("/") + "/"
        assert cells(screen.query_one("#files")) == [
            [fmt.count(f.record_count), fmt.size(f.size_bytes), f.partition or "-", f.file_format,
             f.path.removeprefix(location)]
            for f in files
        ]
        assert all(not row[4].startswith(("file:", "/")) for row in cells(screen.query_one("#files")))
        # the current state: both snapshots, the newest current; a diff of them goes with the table
        screen.open_table(ORDERS)
        await settle(pilot)
        rows = cells(screen.query_one("#snapshots"))
        assert [(row[1], row[2]) for row in rows] == [("", str(first)), ("current", str(second))]
        screen.query_one("#snapshots").focus()
        await pilot.press("m", "up", "m", "d")
        await settle(pilot)
        assert text_of(screen.query_one("#diff-summary")).startswith(f"bronze.orders: {first} -> {second}")
        screen.open_table(TableRef(("bronze",), "customers"))
        await settle(pilot)
        assert text_of(screen.query_one("#diff-summary")) == "mark two snapshots (m) then diff (d)"
        assert screen.marked == []


async def test_sql_on_embedded(real: tuple[Backend, LakehouseSettings], tmp_path: Path) -> None:
    backend, settings = real
    first = backend.catalog.snapshots(ORDERS)[0].snapshot_id
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        editor = screen.query_one(TextArea)
        editor.text = "SELECT * FROM silver.orders_enriched"
        await pilot.press("ctrl+r")
        summary = screen.query_one("#result-summary")
        assert await wait_until(pilot, lambda: not screen.running and "rows" in text_of(summary), 60)
        assert text_of(summary).startswith(
            "showing 50 of 1,000+ rows (fetch limit 1,000 reached; display cap 50)"
        )
        assert screen.query_one("#results").row_count == 50
        editor.text = "SELECT count(*) AS n FROM bronze.orders"
        await pilot.press("ctrl+l", *str(first), "enter")
        assert await wait_until(pilot, lambda: f"snapshot {first}" in text_of(summary), 60)
        assert cells(screen.query_one("#results")) == [["5000"]]
        editor.text = "SELEC 1"
        await pilot.press("ctrl+l", "end", "ctrl+u", "f10", "f5")  # clear the as-of field, back to the editor
        error = screen.query_one("#query-error")
        assert await wait_until(pilot, lambda: bool(error.display), 60)
        assert text_of(error).startswith('Query failed: Parser Error: syntax error at or near "SELEC"')
        editor.text = "SELECT * FROM gold.regional_sales ORDER BY state"
        await pilot.press("ctrl+r")
        assert await wait_until(pilot, lambda: not error.display, 60)
        expected = backend.sql.execute("SELECT * FROM gold.regional_sales ORDER BY state")
        await pilot.press("f8")
        await settle(pilot)
        target = tmp_path / "regional.csv"
        app.screen.query_one("Input").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        with target.open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == list(expected.columns) and len(rows) == expected.row_count + 1


async def test_metrics_on_embedded(real: tuple[Backend, LakehouseSettings]) -> None:
    backend, settings = real
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        charts = {c.panel.panel_id: c for c in screen.query(MetricChart)}
        assert list(charts) == [p.panel_id for p in backend.metrics.panels()]
        # every table of every layer in the legend, counts as whole numbers
        rows = charts["rows"].query_one(SeriesLegend).plain.splitlines()
        assert "━ bronze orders 5,000 rows" in rows and len(rows) >= 8
        assert not [line for line in rows if ".00" in line]
        # bytes with binary prefixes on the value, the axis and the thresholds
        memory = charts["memory"]
        assert re.fullmatch(r"\d+\.\d (MiB|GiB)", text_of(memory.query_one(".metric-value")))
        assert memory.border_subtitle == "warn 3.7 GiB · crit 7.5 GiB"
        plot = memory.query_one(TimeSeriesPlot)
        assert plot.ready and "GiB" in str(plot.render()) and "now" in str(plot.render())
        assert charts["freshness"].border_subtitle == "warn 1d · crit 7d"
        durations = charts["task_durations"].query_one(SeriesLegend).plain
        assert "ingest_to_bronze" in durations and "promote_to_iceberg" in durations
        alerts = cells(screen.query_one("#alerts"))
        assert [row[0] for row in alerts] == [a.name for a in backend.metrics.alerts()]
        assert alerts[0][0] == "HighMemoryUsage" and alerts[0][4] == "3.7 GiB"
        assert re.fullmatch(r"\d+\.\d (MiB|GiB)", alerts[0][3])
        assert screen.paused  # metrics_refresh_seconds=0
        await pilot.press("1", "p", "r")
        await settle(pilot)
        assert screen.window_s == 300 and not screen.paused
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_a_query_runs_once_on_duckdb(real: tuple[Backend, LakehouseSettings]) -> None:
    import dataclasses
    from typing import Any

    backend, settings = real
    limits: list[int | None] = []
    engine = backend.sql

    class Recording:
        name = engine.name
        supports_cancel = engine.supports_cancel

        def execute(self, sql: str, **kwargs: Any) -> Any:
            limits.append(kwargs.get("limit"))
            return engine.execute(sql, **kwargs)

        def cancel(self) -> None:
            engine.cancel()

    app = LakehouseApp(dataclasses.replace(backend, sql=Recording()), settings)  # type: ignore[type-var]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        screen.query_one(TextArea).text = "SELECT range AS i FROM range(5000) ORDER BY i"
        await pilot.press("ctrl+r")
        summary = screen.query_one("#result-summary")
        assert await wait_until(pilot, lambda: not screen.running, 60)
        await settle(pilot)
        assert limits == [1_000]  # one execution, with the fetch limit
        assert text_of(summary).startswith(
            "showing 50 of 1,000+ rows (fetch limit 1,000 reached; display cap 50)"
        )
        assert screen.result is not None and screen.result.tuples()[-1] == (999,)
        assert [len(screen.history), screen.history[0].rows] == [1, 1_000]


async def test_cli_entry_path_opens_an_existing_data_dir(real: tuple[Backend, LakehouseSettings]) -> None:
    from tui import cli
    from tui.screens.overview import OverviewScreen

    _, settings = real
    app = cli.make_app(cli.parse_args(["--mode", "embedded", "--data-dir", str(settings.data_dir)]))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen), 60)
        await settle(pilot)
        assert app.settings.data_dir == settings.data_dir and app.backend.mode == "embedded"
        services = cells(app.screen.query_one("#services"))
        assert services[2][:3] == ["iceberg catalog", "up", "3 namespaces, 8 tables"]


async def test_a_killed_phase_process_fails_the_phase_and_the_app_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Phase 1 runs in a child process: killing it (as the OOM killer would) fails the phase with its
    cause; the app keeps working."""
    import logging
    import os
    import re
    import signal

    settings = embedded_settings(tmp_path / "data", orders=3_000_000)
    backend = load_backend(settings)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        with caplog.at_level(logging.INFO, logger="lakehouse_core.phases.isolation"):
            await pilot.press("1")
            await settle(pilot)
            await pilot.press("y")
            assert await wait_until(pilot, lambda: "runs in child process" in caplog.text, 30)
        pid = int(re.search(r"runs in child process (\d+)", caplog.text).group(1))  # type: ignore[union-attr]
        status = app.screen.query_one("#phase-status")
        assert await wait_until(pilot, lambda: "running" in text_of(status), 30)
        os.kill(pid, signal.SIGKILL)
        assert await wait_until(pilot, lambda: "failed" in text_of(status), 60)
        assert text_of(status).startswith(
            "phase 1 failed: the phase process was killed by SIGKILL (out of memory?) without a result"
        )
        assert cells(app.screen.query_one("#phase-results"))[0][1] == "never run"  # no partial result
        await pilot.press("f3")  # the app is alive and responsive
        await settle(pilot)
        assert isinstance(app.screen, SqlScreen)


async def test_runs_screen_publishes_and_jumps_to_snapshots(real: tuple[Backend, LakehouseSettings]) -> None:
    from tui.screens.modals import ConfirmActionModal
    from tui.screens.runs import RunsScreen

    backend, settings = real
    waiting = load_backend(settings.model_copy(update={"auto_publish": False}))
    new_ids = deliver_orders(settings.data_path)  # new raw data: the rerun has an increment to publish
    run_id = waiting.phases.run(1).run_id  # audited, waiting to be published
    assert backend.runs is not None and backend.runs.run(run_id).state == "audited"
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        rows = cells(screen.query_one("#runs"))
        assert rows[0][:3] == [run_id, "1", "audited"] and rows[0][4] == ""
        assert "ok     raw = bronze = valid + quarantined" in text_of(screen.query_one("#run-audits"))
        preview = cells(screen.query_one("#run-tables"))
        assert ["bronze.orders", "5,000", f"{5000 + len(new_ids):,}", f"+{len(new_ids)}"] in preview
        assert next(r for r in preview if r[0] == "bronze.customers")[3] == "+0"  # no new customers
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmActionModal)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: backend.runs.run(run_id).published, 20)  # type: ignore[union-attr]
        await settle(pilot)
        assert cells(screen.query_one("#runs"))[0][2:] == ["published", "4/4 ok", "yes"]
        phase2 = next(
            i for i, r in enumerate(cells(screen.query_one("#runs"))) if r[1] == "2" and r[4] == "yes"
        )
        screen.query_one("#runs").focus()
        await pilot.press(*["down"] * phase2)
        await settle(pilot)
        screen.query_one("#run-tables").focus()
        await pilot.press("down", "s")  # bronze.orders (tables sorted by name)
        await settle(pilot)
        catalog = app.screen
        assert isinstance(catalog, CatalogScreen) and catalog.table == ORDERS
        assert await wait_until(pilot, lambda: len(cells(catalog.query_one("#snapshots"))) > 0, 20)
        assert len(cells(app.screen.query_one("#snapshots"))) == len(backend.catalog.snapshots(ORDERS))
