"""SQL screen on the fake backend: the ref picker and one statement on two refs side by side."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from rich.style import Style
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select
from textual_fastdatatable import DataTable

from lakehouse_core.models import AsOf, RefInfo
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tests.tui.fakes import FakeBackend, FakeSqlEngine
from tui.app import LakehouseApp
from tui.screens.modals import ChoiceModal
from tui.screens.sql import SqlScreen
from tui.sqltext import parse_as_of, ref_choices, split_ref, with_ref
from tui.widgets.compare_view import CompareView
from tui.widgets.results_table import ResultGrid, ResultsTable

GOLD = "SELECT * FROM gold.daily_sales ORDER BY date"


def add_etl(backend: FakeBackend) -> None:
    backend.catalog.refs.append(RefInfo("etl", "branch", "9001"))  # type: ignore[attr-defined]


def calls(backend: FakeBackend) -> list[tuple[str, int | None, AsOf | None]]:
    assert isinstance(backend.sql, FakeSqlEngine)
    return backend.sql.calls


async def open_sql(pilot: Pilot[None], sql: str = GOLD) -> SqlScreen:
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SqlScreen)
    assert await wait_until(pilot, lambda: "etl" in screen.ref_names)
    screen.editor.text = sql
    return screen


async def pick_ref(pilot: Pilot[None], screen: SqlScreen, name: str) -> None:
    """ctrl+n, open the picker, move to ``name``, enter."""
    await pilot.press("ctrl+n")
    picker = screen.query_one("#ref", Select)
    assert picker.has_focus
    await pilot.press("enter")
    await pilot.pause()
    for _ in range(len(screen.ref_names) + 1):
        await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        if picker.value == name:
            return
        await pilot.press("enter")  # open it again
        await pilot.pause()
    raise AssertionError(f"{name} not reached in the picker (value {picker.value!r})")


def test_picker_choices_and_as_of_combination() -> None:
    refs = [
        RefInfo("main", "branch", "1", table="bronze.orders", is_default=True),
        RefInfo("main", "branch", "2", table="gold.daily_sales"),
        RefInfo("v1", "tag", "3"),
    ]
    assert ref_choices(refs) == [("main", "main"), ("v1", "v1 (tag)")]
    assert with_ref(None, None) is None
    assert with_ref(None, "etl") == AsOf(ref="etl")
    assert with_ref(AsOf(snapshot_id=7), "etl") == AsOf(ref="etl", snapshot_id=7)
    assert with_ref(AsOf(ref="v1"), "etl") == AsOf(ref="v1")  # a typed ref wins
    when = datetime(2026, 1, 2, 3, 4)
    for as_of in (None, AsOf(ref="etl"), AsOf(snapshot_id=5), AsOf(ref="etl", timestamp=when)):
        ref, text = split_ref(as_of)
        assert with_ref(parse_as_of(text), ref) == as_of


async def test_picked_ref_runs_the_statement_there(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    add_etl(fake_backend)
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot)
        assert screen.ref_names == ["main", "audit", "etl"]
        await pick_ref(pilot, screen, "etl")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert calls(fake_backend)[-1][2] == AsOf(ref="etl")
        assert len(cells(screen.query_one("#results", ResultsTable))) == 4  # etl's rows
        assert "ref etl" in text_of(screen.query_one("#result-summary"))
        # a snapshot id typed in the field is read on the picked ref
        screen.query_one("#as-of", Input).value = "3001"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert calls(fake_backend)[-1][2] == AsOf(ref="etl", snapshot_id=3001)
        assert "snapshot 3001 on etl" in text_of(screen.query_one("#result-summary"))
        # back to the backend's current ref
        screen.query_one("#ref", Select).clear()
        screen.query_one("#as-of", Input).value = ""
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert calls(fake_backend)[-1][2] is None
        assert len(cells(screen.query_one("#results", ResultsTable))) == 3


async def test_compare_shows_both_refs_with_the_differing_rows_highlighted(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    add_etl(fake_backend)
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot)
        await pick_ref(pilot, screen, "main")
        await pilot.press("ctrl+f")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        listing = modal.query_one(OptionList)
        assert [str(listing.get_option_at_index(i).id) for i in range(listing.option_count)] == [
            "audit", "etl"
        ]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert [c[2] for c in calls(fake_backend)[-2:]] == [AsOf(ref="main"), AsOf(ref="etl")]
        view = screen.query_one(CompareView)
        assert view.display and not screen.query_one("#results", ResultsTable).display
        left, right = view.grid("left"), view.grid("right")
        assert len(cells(left)) == 3 and len(cells(right)) == 4
        assert isinstance(left.grid, ResultGrid) and isinstance(right.grid, ResultGrid)
        assert left.grid.differs == {1}  # 2026-01-02 was recomputed on etl
        assert right.grid.differs == {1, 3}  # ... and etl has a day main lacks
        assert cells(right)[3][0] == "2026-01-04"
        base = Style()
        for grid, row in ((left.grid, 0), (left.grid, 1), (left.grid, 2), (right.grid, 3)):
            plain = DataTable._get_row_style(grid, row, base)  # the zebra stripe alone
            assert (grid._get_row_style(row, base).bgcolor != plain.bgcolor) is (row in grid.differs)
        summary = text_of(screen.query_one("#result-summary"))
        assert summary == "main ↔ etl: 3 rows differ (1 on main, 2 on etl)"
        assert text_of(screen.query_one("#compare-left-title")) == "main · 3 rows · 1 not on etl"
        assert text_of(screen.query_one("#compare-right-title")) == "etl · 4 rows · 2 not on main"
        # a plain run shows the single grid again
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert not view.display and screen.query_one("#results", ResultsTable).display


async def test_compare_without_a_comparer_or_a_second_ref_says_why(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(dataclasses.replace(fake_backend, compare=None), settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert list(app._notifications)[-1].message == "this mode cannot compare refs"
    fake_backend.catalog.refs[:] = [RefInfo("main", "branch", "1", is_default=True)]  # type: ignore[attr-defined]
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        assert await wait_until(pilot, lambda: screen.ref_names == ["main"])
        screen.query_one("#ref", Select).value = "main"
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert list(app._notifications)[-1].message == "no other ref to compare with"
        assert isinstance(app.screen, SqlScreen)


async def test_a_date_that_does_not_exist_is_said_and_nothing_runs(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    add_etl(fake_backend)
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot)
        before = len(calls(fake_backend))
        screen.query_one("#as-of", Input).value = "2020-13-01"
        for key in ("ctrl+r", "ctrl+f"):
            await pilot.press(key)
            await settle(pilot)
        assert len(calls(fake_backend)) == before and app.screen is screen
        said = [n.message for n in app._notifications]
        assert said and all(m.startswith("as-of '2020-13-01' is not a valid date or time") for m in said)
        screen.query_one("#as-of", Input).value = "ref:etl"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert calls(fake_backend)[-1][2] == AsOf(ref="etl")
