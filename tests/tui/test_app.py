"""App-level behaviour: screen keys, help, keymap, themes, command palette, robustness."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import DataTable

from lakehouse_core.errors import ServiceUnavailableError
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, make_settings, settle, text_of, wait_until
from tests.tui.fakes import FakeBackend, Gate, make_fake_backend
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.help import HelpScreen
from tui.screens.metrics import MetricsScreen
from tui.screens.modals import ConfirmPhaseModal
from tui.screens.overview import OverviewScreen
from tui.screens.sql import SqlScreen

ROOT = Path(__file__).resolve().parents[2]


async def test_function_keys_switch_screens(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for key in ("f2", "f3", "f4", "f1", "f3"):
            await pilot.press(key)
            await settle(pilot)
            seen.append((type(app.screen), app.screen.sub_title))
        assert seen == [
            (CatalogScreen, "Catalog · embedded"),
            (SqlScreen, "SQL · embedded"),
            (MetricsScreen, "Metrics · embedded"),
            (OverviewScreen, "Overview · embedded"),
            (SqlScreen, "SQL · embedded"),
        ]


async def test_help_screen_lists_every_binding(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = cells(app.screen.query_one(DataTable))
        ids = {row[3] for row in rows}
        expected = {
            "app.overview",
            "app.catalog",
            "app.sql",
            "app.metrics",
            "app.help",
            "app.theme",
            "overview.refresh",
            "phase.run1",
            "phase.run2",
            "phase.run3",
            "phase.run4",
            "phase.cancel",
            "catalog.refresh",
            "catalog.preview",
            "catalog.mark",
            "catalog.diff",
            "catalog.branch",
            "catalog.tag",
            "catalog.maintain",
            "sql.run",
            "sql.cancel",
            "sql.history",
            "sql.as_of",
            "sql.export_csv",
            "sql.export_parquet",
            "sql.editor",
            "sql.schema",
            "sql.select_all",
            "sql.complete",
            "metrics.window_5m",
            "metrics.window_15m",
            "metrics.window_1h",
            "metrics.window_6h",
            "metrics.pause",
            "metrics.faster",
            "metrics.slower",
            "metrics.refresh",
        }
        assert expected <= ids
        assert ["SQL", "^r, f5, ^⏎", "Run", "sql.run"] in rows
        assert ["App", "?, f12", "Help", "app.help"] in rows
        assert ["Overview", "1", "Phase 1", "phase.run1"] in rows
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("f3", "f12")  # f12 opens help where ? would be typed into the editor
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_keymap_from_settings_rebinds_keys(fake_backend: FakeBackend, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, keymap={"app.sql": "f9", "phase.run1": "ctrl+1,f11"})
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")  # no longer bound
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("f11")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmPhaseModal)
        await pilot.press("n", "f9")
        await settle(pilot)
        assert isinstance(app.screen, SqlScreen)
        assert ("App", "f9", "SQL", "app.sql") in app.binding_rows()


async def test_theme_from_settings_and_cycle_key(fake_backend: FakeBackend, tmp_path: Path) -> None:
    app = LakehouseApp(fake_backend, make_settings(tmp_path, theme="nord"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        names = sorted(app.available_themes)
        await pilot.press("ctrl+t")
        assert app.theme == names[(names.index("nord") + 1) % len(names)]
        assert list(app._notifications)[-1].message == f"theme: {app.theme}"


async def test_unknown_theme_warns(fake_backend: FakeBackend, tmp_path: Path) -> None:
    app = LakehouseApp(fake_backend, make_settings(tmp_path, theme="no-such-theme"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        assert [n.severity for n in app._notifications] == ["warning"]


async def test_command_palette_has_a_command_per_action(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in (
            "Catalog",
            "SQL",
            "Metrics",
            "Overview",
            "Theme",
            "Help",
            "Overview: Phase 3",
            "SQL: Run",
            "SQL: Export CSV",
            "Catalog: Diff marked",
            "Metrics: Pause",
            "Overview: Cancel phase",
        ):
            assert title in titles, title
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Metrics: Pause")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MetricsScreen)
        assert not app.screen.paused  # the tests' settings start it paused: the command resumed it


async def test_hanging_backend_call_keeps_the_ui_responsive(settings: LakehouseSettings) -> None:
    gate = Gate(hang={"statuses": threading.Event()})
    backend = make_fake_backend(gate)
    app = LakehouseApp(backend, settings)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert gate.entered.setdefault("statuses", threading.Event()).wait(5)
            await pilot.press("r", "r")  # a second probe is not stacked behind the hung one
            await pilot.press("f3")
            await pilot.pause()
            assert isinstance(app.screen, SqlScreen)
            await pilot.press("ctrl+r")
            summary = app.screen.query_one("#result-summary")
            assert await wait_until(pilot, lambda: text_of(summary).startswith("3 rows"))
            assert gate.calls.count("statuses") == 1
            assert not gate.hang["statuses"].is_set()  # the probe is still hung meanwhile
            gate.release()
            await settle(pilot)
            await pilot.press("f1")
            await pilot.pause()
            assert len(app.screen.query_one("#services", DataTable).rows) == 5
    finally:
        gate.release()


async def test_raising_backend_call_becomes_a_notification(settings: LakehouseSettings) -> None:
    gate = Gate(
        fail={
            "statuses": ServiceUnavailableError("nessie", "connection refused"),
            "panels": RuntimeError("boom"),
        }
    )
    app = LakehouseApp(make_fake_backend(gate), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = [(n.title, n.message, n.severity) for n in app._notifications]
        assert notes == [("Service unavailable", "nessie is unavailable: connection refused", "error")]
        await pilot.press("f4")  # still responsive; a non-LakehouseError is shown too
        await settle(pilot)
        assert isinstance(app.screen, MetricsScreen)
        assert list(app._notifications)[-1].message == "boom"
        assert list(app._notifications)[-1].title == "Error"


def test_importing_the_app_pulls_no_transport() -> None:
    code = (
        "import sys, tui.app, tui.screens.overview, tui.screens.catalog\n"
        "import tui.screens.sql, tui.screens.metrics\n"
        "bad = ('httpx', 'docker', 'pyiceberg', 'lakehouse_core.backends')\n"
        "bad = sorted(m for m in bad if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert out.stdout.strip() == ""
