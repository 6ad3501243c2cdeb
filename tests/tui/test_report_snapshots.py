"""SVG snapshots: the Report screen with data at 80x24 and 160x48; Overview, Catalog and SQL on an
empty data dir (fake backend, timers off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.tui.conftest import make_settings, settle, steady_cursor
from tests.tui.fakes import FakeBackend, make_fake_backend
from tests.tui.test_snapshots import steps
from tui.app import LakehouseApp

SIZES = [(80, 24), (160, 48)]


def empty_backend() -> FakeBackend:
    backend = make_fake_backend()
    backend.catalog.list_namespaces = lambda ref=None: []  # type: ignore[method-assign]
    return backend


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_report_with_data(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = LakehouseApp(make_fake_backend(orders=1_000), make_settings(tmp_path))

    async def run(pilot: Pilot[None]) -> None:
        await steps("3", "y", "v")(pilot)
        await pilot.wait_for_scheduled_animations()
        await settle(pilot)  # the side's tables size themselves at idle time
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_overview_after_phase_3(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = LakehouseApp(make_fake_backend(orders=1_000), make_settings(tmp_path))
    assert snap_compare(app, terminal_size=size, run_before=steps("1", "y", "2", "y", "3", "y"))


def test_empty_overview(snap_compare: Any, tmp_path: Path) -> None:
    app = LakehouseApp(empty_backend(), make_settings(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps())


def test_empty_catalog(snap_compare: Any, tmp_path: Path) -> None:
    app = LakehouseApp(empty_backend(), make_settings(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("f2"))


def test_empty_sql_after_a_query(snap_compare: Any, tmp_path: Path) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        editor = pilot.app.screen.query_one(TextArea)
        steady_cursor(editor)
        editor.text = "SELECT * FROM nope"
        await steps("ctrl+r")(pilot)

    app = LakehouseApp(empty_backend(), make_settings(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_empty_report(snap_compare: Any, tmp_path: Path) -> None:
    app = LakehouseApp(empty_backend(), make_settings(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("v"))
