"""SQL screen: a statement runs once; the engine's first page is shown while it reads the rest."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import TextArea

from lakehouse_core.errors import QueryError
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.ports import FirstPageCallback
from tests.tui.conftest import SIZE, make_settings, settle, text_of, wait_until
from tests.tui.fake_catalog import FIRST_PAGE_ROWS
from tests.tui.fakes import FakeBackend, FakeSqlEngine, make_fake_backend
from tests.tui.test_sql import history_of
from tui.app import LakehouseApp
from tui.screens.sql import SqlScreen
from tui.widgets.results_table import ResultsTable

SQL = "SELECT * FROM range(800)"


class HoldAfterFirstPage:
    """Wraps the fake engine: once the screen has the first page, the rest of the same execution waits for
    ``release`` (then raises ``error`` if given). ``count`` is the number of executions."""

    def __init__(self, engine: FakeSqlEngine, error: BaseException | None = None) -> None:
        self.engine = engine
        self.name = engine.name
        self.supports_cancel = engine.supports_cancel
        self.error = error
        self.count = 0
        self.first_page_handed = threading.Event()
        self.release = threading.Event()

    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        self.count += 1

        def hold(first: QueryResult) -> None:
            assert on_first_page is not None
            on_first_page(first)
            self.first_page_handed.set()
            self.release.wait(30)
            if self.error is not None:
                raise self.error

        return self.engine.execute(
            sql, limit=limit, as_of=as_of, on_first_page=hold if on_first_page else None
        )

    def cancel(self) -> None:
        self.engine.cancel()


def held_backend(error: BaseException | None = None) -> tuple[FakeBackend, HoldAfterFirstPage, FakeSqlEngine]:
    backend = make_fake_backend()
    assert isinstance(backend.sql, FakeSqlEngine)
    hold = HoldAfterFirstPage(backend.sql, error)
    return dataclasses.replace(backend, sql=hold), hold, backend.sql  # type: ignore[arg-type]


async def run(pilot: Pilot[Any], sql: str) -> SqlScreen:
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SqlScreen)
    screen.query_one(TextArea).text = sql
    await pilot.press("ctrl+r")
    return screen


async def test_first_page_then_the_rest_of_one_execution(tmp_path: Path) -> None:
    backend, hold, engine = held_backend()
    app = LakehouseApp(backend, make_settings(tmp_path, display_cap=500, fetch_limit=1_000))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await run(pilot, SQL)
            assert await wait_until(pilot, lambda: hold.first_page_handed.is_set())
            grid = screen.query_one(ResultsTable)
            assert await wait_until(pilot, lambda: screen.previewing and grid.row_count == FIRST_PAGE_ROWS)
            assert grid.get_row_at(199) == [199, "row 199"]
            assert text_of(screen.query_one("#result-summary")) == (
                "showing the first 200 rows · loading all rows… · fake"
            )
            assert text_of(screen.query_one("#sql-status")) == "loading all rows…"
            assert screen.running and screen.history == [] and screen.result is None
            grid.grid.move_cursor(row=150, column=1)
            await pilot.pause()
            hold.release.set()
            assert await wait_until(pilot, lambda: not screen.running)
            await settle(pilot)
            assert grid.row_count == 500 and grid.get_row_at(499) == [499, "row 499"]
            assert grid.grid.cursor_coordinate == Coordinate(150, 1)
            assert grid.grid.scroll_y > 0  # row 150 is still in view
            assert text_of(screen.query_one("#result-summary")) == (
                "showing 500 of 800 rows (display cap 500) · 12 ms · fake"
            )
            assert text_of(screen.query_one("#sql-status")) == "ready"
            assert engine.calls == [(SQL, 1_000, None)] and hold.count == 1  # one execution
            assert history_of(screen) == [f"#1 · 800 rows · 12 ms · current\n{SQL}"]
            assert screen.result is not None and screen.result.row_count == 800
    finally:
        hold.release.set()


async def test_dml_and_ddl_run_once_with_the_fetch_limit(tmp_path: Path) -> None:
    backend, hold, engine = held_backend()
    hold.release.set()
    app = LakehouseApp(backend, make_settings(tmp_path, fetch_limit=1_000))
    statements = [
        "INSERT INTO silver.orders SELECT * FROM range(800)",
        "WITH d AS (DELETE FROM silver.orders RETURNING *) SELECT * FROM range(800)",
        "CREATE TABLE t AS SELECT * FROM range(800)",
    ]
    async with app.run_test(size=SIZE) as pilot:
        screen = await run(pilot, statements[0])
        await settle(pilot)
        for sql in statements[1:]:
            screen.query_one(TextArea).text = sql
            await pilot.press("ctrl+r")
            await settle(pilot)
        assert engine.calls == [(sql, 1_000, None) for sql in statements] and hold.count == 3
        assert len(screen.history) == 3 and not screen.previewing


async def test_a_small_result_has_no_separate_first_page(tmp_path: Path) -> None:
    backend, hold, engine = held_backend()
    app = LakehouseApp(backend, make_settings(tmp_path, fetch_limit=1_000))
    async with app.run_test(size=SIZE) as pilot:
        screen = await run(pilot, "SELECT * FROM range(7)")
        await settle(pilot)
        assert engine.calls == [("SELECT * FROM range(7)", 1_000, None)] and hold.count == 1
        assert not hold.first_page_handed.is_set()
        assert screen.query_one(ResultsTable).row_count == 7
        assert text_of(screen.query_one("#result-summary")) == "7 rows · 12 ms · fake"


async def test_cancel_after_the_first_page(tmp_path: Path) -> None:
    backend, hold, engine = held_backend()
    app = LakehouseApp(backend, make_settings(tmp_path, fetch_limit=1_000))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await run(pilot, SQL)
            assert await wait_until(pilot, lambda: hold.first_page_handed.is_set() and screen.previewing)
            await pilot.press("ctrl+g")
            assert await wait_until(pilot, lambda: "cancel" in engine.gate.calls)
            hold.release.set()  # the engine returns anyway: the cancelled run is not shown
            assert await wait_until(pilot, lambda: not screen.running)
            await settle(pilot)
            error = screen.query_one("#query-error")
            assert error.display and not screen.query_one(ResultsTable).display
            assert text_of(error) == "Query cancelled: query cancelled by user"
            assert screen.result is None and not screen.previewing
            assert [entry.error for entry in screen.history] == ["query cancelled by user"]
    finally:
        hold.release.set()


async def test_an_error_after_the_first_page_is_shown_in_place(tmp_path: Path) -> None:
    backend, hold, engine = held_backend(QueryError("Out of Memory Error: failed to allocate", engine="fake"))
    hold.release.set()
    app = LakehouseApp(backend, make_settings(tmp_path, fetch_limit=1_000))
    async with app.run_test(size=SIZE) as pilot:
        screen = await run(pilot, SQL)
        await settle(pilot)
        error = screen.query_one("#query-error")
        assert error.display and not screen.query_one(ResultsTable).display
        assert text_of(error) == "Query failed: Out of Memory Error: failed to allocate"
        assert text_of(screen.query_one("#sql-status")) == "ready"
        assert history_of(screen) == [f"#1 · error · current\n{SQL}"]
        assert hold.count == 1 and len(engine.calls) == 1
