"""Factory mode: the App paints a Starting screen first, builds the backend in a worker, then the Overview."""

from __future__ import annotations

import threading
from pathlib import Path

from textual.widgets import LoadingIndicator

from lakehouse_core.errors import ConfigError
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, make_settings, settle, text_of, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.overview import OverviewScreen
from tui.screens.starting import STARTING_TEXT, StartingScreen


class GatedFactory:
    """A backend factory that blocks until released (or raises ``error``)."""

    def __init__(self, settings: LakehouseSettings, error: BaseException | None = None) -> None:
        self.settings = settings
        self.error = error
        self.backend = make_fake_backend()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> tuple[Backend, LakehouseSettings]:
        self.calls += 1
        self.entered.set()
        self.release.wait(30)
        if self.error is not None:
            raise self.error
        return self.backend, self.settings


async def test_paints_the_starting_screen_then_the_overview(tmp_path: Path) -> None:
    factory = GatedFactory(make_settings(tmp_path, theme="textual-light"))
    app = LakehouseApp(factory=factory)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert factory.entered.wait(5)  # the factory runs (after the first frame) while the splash shows
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, StartingScreen) and not app.ready
            assert text_of(screen.query_one("#starting-status")) == STARTING_TEXT
            assert screen.query_one(LoadingIndicator).display and not screen.query("#starting-error")
            await pilot.press("f3")  # screen switches wait for the backend
            await pilot.pause()
            assert isinstance(app.screen, StartingScreen) and app.current_mode == "starting"
            factory.release.set()
            assert await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen))
            await settle(pilot)
            assert app.ready and app.backend is factory.backend and app.settings is factory.settings
            assert app.theme == "textual-light"
            assert "starting" not in app._screen_stacks and factory.calls == 1
            assert factory.backend.gate.calls.count("statuses") == 1
            await pilot.press("f3")
            await settle(pilot)
            assert app.current_mode == "sql"
    finally:
        factory.release.set()


async def test_a_failing_factory_is_shown_on_screen(tmp_path: Path) -> None:
    factory = GatedFactory(make_settings(tmp_path), ConfigError("catalog_uri is not a valid URL"))
    factory.release.set()
    app = LakehouseApp(factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StartingScreen) and not app.ready
        assert text_of(screen.query_one("#starting-error")) == (
            "Configuration error: catalog_uri is not a valid URL"
        )
        assert screen.query_one("#starting-error").display
        assert not screen.query(LoadingIndicator)
        assert text_of(screen.query_one("#starting-status")) == "lakehouse-tui could not start (ctrl+q quits)"
        assert [(n.title, n.severity) for n in app._notifications] == [("Configuration error", "error")]
        await pilot.press("ctrl+q")
    assert app.return_code == 2


async def test_invalid_settings_and_missing_extras_are_named(tmp_path: Path) -> None:
    for error, expected in (
        (ImportError("No module named 'docker'"), "Missing dependency: No module named 'docker' (install"),
        (ValueError("1 validation error for LakehouseSettings"), "Invalid settings: 1 validation error"),
        (RuntimeError("[boom]"), "RuntimeError: [boom]"),
    ):
        factory = GatedFactory(make_settings(tmp_path), error)
        factory.release.set()
        app = LakehouseApp(factory=factory)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert text_of(app.screen.query_one("#starting-error")).startswith(expected)


def test_the_app_needs_a_backend_or_a_factory(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(TypeError):
        LakehouseApp()
    with pytest.raises(TypeError):
        LakehouseApp(make_fake_backend(), make_settings(tmp_path), factory=lambda: (None, None))  # type: ignore[arg-type,return-value]


def test_the_entry_path_defers_settings_and_engines_to_the_worker() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, tui.cli, tui.app, tui.screens.starting\n"
        "app = tui.cli.make_app(tui.cli.parse_args(['--mode', 'embedded']))\n"
        "heavy = ('pydantic', 'pydantic_settings', 'lakehouse_core.settings', 'lakehouse_core.backends',\n"
        "         'pyiceberg', 'duckdb', 'pyarrow', 'httpx', 'docker')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert out.stdout.strip() == ""


async def test_the_factory_runs_once_even_if_a_subclass_calls_on_ready(tmp_path: Path) -> None:
    class Sub(LakehouseApp):
        def on_ready(self) -> None:  # Textual runs LakehouseApp.on_ready as well
            super().on_ready()

    factory = GatedFactory(make_settings(tmp_path))
    factory.release.set()
    app = Sub(factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        await settle(pilot)
        assert factory.calls == 1


async def test_a_settings_error_with_brackets_is_drawn_not_parsed_as_markup(tmp_path: Path) -> None:
    """pydantic's message holds ``[type=int_parsing, ...]``: the toast shows it as plain text."""
    from pydantic import ValidationError

    try:
        LakehouseSettings(orders="abc")  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc
    factory = GatedFactory(make_settings(tmp_path), error)
    factory.release.set()
    app = LakehouseApp(factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)
        error_text = text_of(app.screen.query_one("#starting-error"))
        assert error_text.startswith("Invalid settings: 1 validation error")
        assert [n.title for n in app._notifications] == ["Invalid settings"]
        assert "[type=int_parsing" in next(iter(app._notifications)).message
        # shown as plain text: as markup, drawing the toast raised and ended the app with a traceback
        assert next(iter(app._notifications)).markup is False
        await pilot.press("ctrl+q")
    assert app.return_code == 2
