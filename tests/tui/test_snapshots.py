"""SVG snapshots of every screen on the fake backend (timers off, fixed data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.tui.conftest import SIZE, make_settings, settle, steady_cursor
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp

Before = Callable[[Pilot[None]], Awaitable[None]]


def app_for(tmp_path: Path) -> LakehouseApp:
    return LakehouseApp(make_fake_backend(orders=2_000, chunk=500), make_settings(tmp_path))


def steps(*keys: str) -> Before:
    """Press ``keys`` one by one, letting workers finish after each; then freeze blinking and toasts."""

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        for editor in pilot.app.screen.query(TextArea):
            steady_cursor(editor)
        pilot.app.clear_notifications()
        await pilot.pause(0.2)  # let idle-time layout (DataTable column widths) settle

    return run


def test_overview_after_phase_1(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=steps("1", "y"))


def test_phase_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=steps("2"))


def test_catalog_orders_snapshots(snap_compare: Any, tmp_path: Path) -> None:
    keys = ("f2", "down", "enter", "down", "down", "enter")
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=steps(*keys))


def test_catalog_preview(snap_compare: Any, tmp_path: Path) -> None:
    keys = ("f2", "down", "enter", "down", "down", "enter", "p")
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=steps(*keys))


def test_sql_result_with_caps(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        editor = pilot.app.screen.query_one(TextArea)
        steady_cursor(editor)
        editor.text = "SELECT * FROM range(1000)"
        await steps("ctrl+r")(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=run)


def test_sql_error_in_place(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        editor = pilot.app.screen.query_one(TextArea)
        steady_cursor(editor)
        editor.text = "SELECT * FROM nope"
        await steps("ctrl+r")(pilot)

    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=run)


def test_metrics(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=steps("f4"))


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, run_before=steps("question_mark"))


def test_startup_error(snap_compare: Any, tmp_path: Path) -> None:
    from lakehouse_core.errors import ConfigError

    def factory() -> Any:
        raise ConfigError("catalog_uri is not a valid URL")

    assert snap_compare(LakehouseApp(factory=factory), terminal_size=SIZE, run_before=steps())


def test_sql_first_page_while_loading(snap_compare: Any, tmp_path: Path) -> None:
    import dataclasses

    from tests.tui.test_sql_first_page import HoldAfterFirstPage

    backend = make_fake_backend()
    hold = HoldAfterFirstPage(backend.sql)  # type: ignore[arg-type]
    app = LakehouseApp(dataclasses.replace(backend, sql=hold), make_settings(tmp_path, fetch_limit=1_000))

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        editor = pilot.app.screen.query_one(TextArea)
        steady_cursor(editor)
        editor.text = "SELECT * FROM range(1000)"
        await pilot.press("ctrl+r")
        assert hold.first_page_handed.wait(5)
        await pilot.pause(0.3)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run)
    finally:
        hold.release.set()


def stack_app_for(tmp_path: Path) -> LakehouseApp:
    from tests.tui.fake_refs import make_fake_stack_backend

    return LakehouseApp(make_fake_stack_backend(), make_settings(tmp_path))


def test_nessie_refs_screen(snap_compare: Any, tmp_path: Path) -> None:
    keys = ("f2", "down", "enter", "down", "down", "enter", "n", "down")
    assert snap_compare(stack_app_for(tmp_path), terminal_size=(160, 48), run_before=steps(*keys))


def test_nessie_refs_screen_small(snap_compare: Any, tmp_path: Path) -> None:
    keys = ("f2", "down", "enter", "down", "down", "enter", "n", "down")
    assert snap_compare(stack_app_for(tmp_path), terminal_size=(80, 24), run_before=steps(*keys))
