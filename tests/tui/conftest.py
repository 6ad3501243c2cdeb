"""Fixtures of the TUI tests: deterministic settings (timers off) and the fake backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.tui.fakes import FakeBackend, make_fake_backend

SIZE = (130, 40)


def make_settings(data_dir: Path, **tui: object) -> LakehouseSettings:
    """Settings for tests: no timers, small caps, data under ``data_dir``."""
    values: dict[str, object] = {
        "refresh_seconds": 0,
        "metrics_refresh_seconds": 0,
        "theme": "textual-dark",
        "display_cap": 50,
        "fetch_limit": 120,
    }
    values.update(tui)
    return LakehouseSettings(mode="embedded", data_dir=data_dir, tui=TuiSettings(**values))  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> LakehouseSettings:
    return make_settings(tmp_path)


@pytest.fixture
def fake_backend() -> Iterator[FakeBackend]:
    backend = make_fake_backend()
    yield backend
    backend.gate.release()


async def settle(pilot: object, rounds: int = 3) -> None:
    """Let workers finish and their messages be handled."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def cells(table: object) -> list[list[str]]:
    """Plain text of every row of a DataTable, or of a ResultsTable's values (None as NULL)."""
    from textual.widgets import DataTable

    from tui.widgets.results_table import ResultsTable

    if isinstance(table, ResultsTable):
        return [
            ["NULL" if v is None else str(v) for v in table.get_row_at(i)] for i in range(table.row_count)
        ]
    assert isinstance(table, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(widget: object) -> str:
    """Plain text of a Label/Static."""
    from textual.widgets import Static

    assert isinstance(widget, Static)
    return str(widget.render())


async def wait_until(pilot: object, predicate: object, timeout_s: float = 5.0) -> bool:
    """Pause until ``predicate()`` is true (bounded); return its last value."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot) and callable(predicate)
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return True
        await pilot.pause(0.05)
    return bool(predicate())


def steady_cursor(editor: object) -> None:
    """No blinking cursor in a snapshot: drawn exactly while the editor has focus.

    Textual's TextArea caches rendered lines by a key that, with blinking off, leaves out focus: a line
    drawn before the editor had focus would keep showing no cursor. Dropping the cache redraws it."""
    from textual.widgets import TextArea

    assert isinstance(editor, TextArea)
    editor.cursor_blink = False
    editor._line_cache.clear()
    editor.refresh()
