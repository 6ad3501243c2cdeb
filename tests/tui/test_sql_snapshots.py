"""SVG snapshots of the SQL screen at 80×24 and 160×48 on the fake backend: schema browser, result,
history, the completion list, an empty catalog, and one statement on two refs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Select

from lakehouse_core.models import AsOf, RefInfo
from tests.tui.conftest import make_settings, settle, steady_cursor, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.sql import SqlScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def app_for(tmp_path: Path) -> LakehouseApp:
    return LakehouseApp(make_fake_backend(orders=2_000, chunk=500), make_settings(tmp_path))


async def sql_screen(pilot: Pilot[None]) -> SqlScreen:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SqlScreen)
    assert await wait_until(pilot, lambda: screen.vocabulary is not None and screen.schema is not None)
    steady_cursor(screen.editor)
    return screen


async def freeze(pilot: Pilot[None]) -> None:
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES)
def test_sql_with_result_and_open_table(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[None]) -> None:
        screen = await sql_screen(pilot)
        screen.editor.text = "SELECT *\nFROM gold.daily_sales\nORDER BY date DESC"
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+s", "down", "down", "space")  # bronze.orders opened: columns with types
        await freeze(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_sql_history(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[None]) -> None:
        screen = await sql_screen(pilot)
        screen.editor.text = (
            "SELECT order_id, status, total_amount\nFROM bronze.orders\nWHERE status = 'pending'"
        )
        screen.query_one("#as-of").value = "3001"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot)
        screen.query_one("#as-of").value = ""  # type: ignore[attr-defined]
        screen.editor.text = "SELECT * FROM range(7)"
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await freeze(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_sql_completion_list(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[None]) -> None:
        screen = await sql_screen(pilot)
        screen.editor.text = "SELECT  FROM bronze.orders o"
        screen.editor.move_cursor((0, 7))
        await pilot.press(*"o.")  # the alias's columns, with their types
        await freeze(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=size, run_before=run)


def test_sql_empty_catalog(snap_compare: Any, tmp_path: Path) -> None:
    backend = make_fake_backend()
    backend.catalog.list_namespaces = lambda ref=None: []  # type: ignore[method-assign]
    app = LakehouseApp(backend, make_settings(tmp_path))

    async def run(pilot: Pilot[None]) -> None:
        await sql_screen(pilot)
        await freeze(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_sql_compare_two_refs(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """main and etl side by side: etl recomputed one day and added one; those rows are highlighted."""
    app = app_for(tmp_path)
    app.backend.catalog.refs.append(RefInfo("etl", "branch", "9001"))  # type: ignore[attr-defined]

    async def run(pilot: Pilot[None]) -> None:
        screen = await sql_screen(pilot)
        assert await wait_until(pilot, lambda: "etl" in screen.ref_names)
        screen.editor.text = "SELECT *\nFROM gold.daily_sales\nORDER BY date"
        screen.query_one("#ref", Select).value = "main"
        await pilot.press("ctrl+f")
        await pilot.pause()
        await pilot.press("down", "enter")  # audit, etl
        await settle(pilot)
        assert screen.comparison is not None and screen.comparison.right.as_of == AsOf(ref="etl")
        screen.editor.focus()
        await freeze(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run)
