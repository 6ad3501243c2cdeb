"""SQL screen on the fake backend: run keys, caps, as-of, errors, history, cancel, export."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, TextArea
from textual.widgets.text_area import Selection

from lakehouse_core.errors import QueryError
from lakehouse_core.models import AsOf
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fakes import FakeBackend, FakeSqlEngine
from tui.app import LakehouseApp
from tui.screens.modals import InputModal
from tui.screens.sql import SqlScreen
from tui.widgets.results_table import ResultsTable
from tui.widgets.sql_editor import SqlEditor


async def open_sql(pilot: Pilot[None], sql: str | None = None) -> SqlScreen:
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SqlScreen)
    if sql is not None:
        screen.query_one(TextArea).text = sql
    return screen


def history_of(screen: SqlScreen) -> list[str]:
    """The history list's entries as shown (newest first): title line, newline, whole statement."""
    listing = screen.query_one("#history", OptionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


def engine(backend: FakeBackend) -> FakeSqlEngine:
    assert isinstance(backend.sql, FakeSqlEngine)
    return backend.sql


async def test_every_run_key_runs_the_statement_under_the_cursor(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM range(3);\nSELECT * FROM gold.daily_sales")
        editor = screen.query_one(TextArea)
        for key, location in (("ctrl+r", (0, 5)), ("f5", (1, 3)), ("ctrl+enter", (0, 0))):
            editor.move_cursor(location)
            await pilot.press(key)
            await settle(pilot)
        assert [call[0] for call in engine(fake_backend).calls] == [
            "SELECT * FROM range(3)",
            "SELECT * FROM gold.daily_sales",
            "SELECT * FROM range(3)",
        ]
        assert all(call[1] == 120 for call in engine(fake_backend).calls)  # the fetch limit
        assert text_of(screen.query_one("#result-summary")) == "3 rows · 12 ms · fake"
        assert cells(screen.query_one(ResultsTable)) == [["0", "row 0"], ["1", "row 1"], ["2", "row 2"]]


async def test_selection_is_run_instead_of_the_statement(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM gold.daily_sales WHERE 1=1")
        screen.query_one(TextArea).selection = Selection((0, 0), (0, 30))
        await pilot.press("f5")
        await settle(pilot)
        assert engine(fake_backend).calls[-1][0] == "SELECT * FROM gold.daily_sales"
        assert cells(screen.query_one(ResultsTable))[0] == ["2026-01-01", "180", "9876.50", "150", "54.87"]


async def test_caps_are_stated_never_silent(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)  # display_cap 50, fetch_limit 120
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM range(1000000)")
        await pilot.press("ctrl+r")
        await settle(pilot)
        grid = screen.query_one(ResultsTable)
        assert grid.row_count == 50
        assert text_of(screen.query_one("#result-summary")) == (
            "showing 50 of 1,000,000 rows (fetch limit 120 reached; display cap 50) · 12 ms · fake"
        )
        screen.query_one(TextArea).text = "SELECT * FROM range(80)"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert grid.row_count == 50
        assert (
            text_of(screen.query_one("#result-summary"))
            == "showing 50 of 80 rows (display cap 50) · 12 ms · fake"
        )


async def test_big_result_is_shown_up_to_the_display_cap(fake_backend: FakeBackend, tmp_path: Path) -> None:
    from tests.tui.conftest import make_settings

    app = LakehouseApp(fake_backend, make_settings(tmp_path, display_cap=2_500, fetch_limit=1_000_000))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM range(1000000)")
        await pilot.press("ctrl+r")
        await settle(pilot)
        grid = screen.query_one(ResultsTable)
        assert grid.row_count == 2_500
        assert grid.get_row_at(2_499) == [2_499, "row 2499"]
        assert text_of(screen.query_one("#result-summary")) == (
            "showing 2,500 of 1,000,000 rows (display cap 2,500) · 12 ms · fake"
        )


async def test_as_of_selector_is_passed_to_the_engine(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM bronze.orders")
        await pilot.press("ctrl+l", *"3001", "enter")  # enter in the as-of field runs the editor's statement
        await settle(pilot)
        assert engine(fake_backend).calls[-1][2] == AsOf(snapshot_id=3001)
        assert text_of(screen.query_one("#result-summary")) == "5 rows · 12 ms · fake · snapshot 3001"
        assert cells(screen.query_one(ResultsTable))[0][6] == "pending"
        screen.query_one("#as-of", Input).value = "audit"
        await pilot.press("f10", "ctrl+r")
        await settle(pilot)
        assert engine(fake_backend).calls[-1][2] == AsOf(ref="audit")


async def test_engine_error_is_shown_in_place(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM nope")
        await pilot.press("ctrl+r")
        await settle(pilot)
        error = screen.query_one("#query-error")
        assert error.display and not screen.query_one(ResultsTable).display
        assert text_of(error) == "Query failed: Catalog Error: Table with name nope does not exist!"
        assert [(n.title, n.severity) for n in app._notifications] == [("Query failed", "error")]
        screen.query_one(TextArea).text = "SELECT * FROM range(2)"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert not error.display and screen.query_one(ResultsTable).display


async def test_history_shows_whole_statements_newest_first_with_their_as_of(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    long_line = "SELECT i, label, i * 2 AS twice, i * 3 AS thrice, i * 4 AS four FROM range(7)"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sql(pilot, f"{long_line}\nWHERE true\nORDER BY i")
        await pilot.press("ctrl+r")
        await settle(pilot)
        screen.query_one(TextArea).text = "SELEC oops"
        screen.query_one("#as-of", Input).value = "3001"
        await pilot.press("ctrl+r")
        await settle(pilot)
        listing = screen.query_one("#history", OptionList)
        assert history_of(screen) == [
            "#2 · error · snapshot 3001\nSELEC oops",
            f"#1 · 7 rows · 12 ms · current\n{long_line}\nWHERE true\nORDER BY i",
        ]
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert listing.has_focus and listing.highlighted == 0
        shown = "".join(strip.text for strip in listing.render_lines(listing.scrollable_content_region))
        assert "".join(long_line.split()) in "".join(shown.split())  # wrapped, not cut
        await pilot.press("down", "enter")  # re-run entry 1, as of what it ran at
        await settle(pilot)
        assert engine(fake_backend).calls[-1][0] == f"{long_line}\nWHERE true\nORDER BY i"
        assert engine(fake_backend).calls[-1][2] is None
        assert screen.query_one("#as-of", Input).value == ""
        assert len(screen.history) == 3
        await pilot.press("enter")  # the newest entry is highlighted again: entry 3 (the same)
        await settle(pilot)
        await pilot.press("ctrl+o", "down", "down", "enter")  # entry 2 runs as of snapshot 3001 again
        await settle(pilot)
        assert engine(fake_backend).calls[-1][2] == AsOf(snapshot_id=3001)


async def test_cancel_key_cancels_the_running_query(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT sleep(60)")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert list(app._notifications)[-1].message == "no query is running"
        await pilot.press("ctrl+r")
        assert fake_backend.gate.entered.setdefault("execute", threading.Event()).wait(5)
        await pilot.pause()
        assert screen.running
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "cancel" in fake_backend.gate.calls
        assert not screen.running
        assert text_of(screen.query_one("#query-error")) == "Query cancelled: query cancelled by user"


async def test_export_csv_and_parquet(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT * FROM range(100)")
        await pilot.press("f8")
        await pilot.pause()
        assert list(app._notifications)[-1].message == "run a query first"
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, InputModal)
        default = settings.data_path / "exports" / "result-1.csv"
        assert modal.query_one(Input).value == str(default)
        await pilot.press("enter")
        await settle(pilot)
        with default.open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["i", "label"] and len(rows) == 101  # every fetched row, not only the shown 50
        assert list(app._notifications)[-1].message == f"exported 100 rows to {default}"
        await pilot.press("f9")
        await settle(pilot)
        target = settings.data_path / "mine.parquet"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert pq.read_table(target).num_rows == 100
        assert isinstance(app.screen, SqlScreen) and screen.result is not None


async def test_the_editor_highlights_sql(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT order_id FROM bronze.orders WHERE total_amount > 10 -- big")
        editor = screen.query_one(TextArea)
        assert isinstance(editor, SqlEditor)  # Pygments' SQL lexer, not a tree-sitter grammar
        line = editor.text.splitlines()[0]
        kinds: dict[str, set[str]] = {}
        for start, end, name in editor._highlights[0]:
            kinds.setdefault(line[start:end], set()).add(name)
        assert kinds["SELECT"] == kinds["FROM"] == kinds["WHERE"] == {"keyword"}
        assert "comment" in kinds["-- big"]


async def test_engine_error_text_is_shown_as_written_never_as_markup(
    fake_backend: FakeBackend, settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = "Parser Error: syntax error at or near \"[bold]x[/]\" and [red]"

    def fail(*args: object, **kwargs: object) -> None:
        raise QueryError(message, engine="fake")

    monkeypatch.setattr(fake_backend.sql, "execute", fail)
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT '[bold]x[/]'")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert text_of(screen.query_one("#query-error")) == f"Query failed: {message}"
