"""tui.cli: flags override settings, load_backend is called once, errors end cleanly; periodic refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

import tui.app
from lakehouse_core.errors import ConfigError
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, make_settings, settle, text_of, wait_until
from tests.tui.fakes import FakeBackend, make_fake_backend
from tui import cli


def test_flags_override_settings_and_the_factory_builds_the_backend_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built: list[LakehouseSettings] = []
    ran: list[tui.app.LakehouseApp] = []
    backend = make_fake_backend()

    def fake_load_backend(settings: LakehouseSettings) -> FakeBackend:
        built.append(settings)
        return backend

    def fake_run(self: tui.app.LakehouseApp, *args: object, **kwargs: object) -> None:
        ran.append(self)

    monkeypatch.setattr(cli, "setup_logging", lambda log_file: None)  # keep the test process's logging
    monkeypatch.setattr("lakehouse_core.backends.load_backend", fake_load_backend)
    monkeypatch.setattr(tui.app.LakehouseApp, "run", fake_run)
    assert cli.main(["--mode", "stack", "--data-dir", str(tmp_path / "d")]) == 0
    assert built == []  # nothing is built before the App runs (and paints)
    (app,) = ran
    assert not app.ready and app.factory is not None
    got_backend, got_settings = app.factory()
    assert len(built) == 1 and built[0].mode == "stack" and built[0].data_dir == tmp_path / "d"
    assert got_backend is backend and got_settings is built[0]


async def test_backend_errors_are_shown_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: LakehouseSettings) -> None:
        raise ConfigError("catalog_uri is not a valid URL")

    monkeypatch.setattr("lakehouse_core.backends.load_backend", broken)
    app = cli.make_app(cli.parse_args(["--mode", "embedded"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.startup_error, ConfigError) and not app.ready
        assert text_of(app.screen.query_one("#starting-error")) == (
            "Configuration error: catalog_uri is not a valid URL"
        )
        await pilot.press("ctrl+q")
    assert app.return_code == 2


def test_main_returns_the_app_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(self: tui.app.LakehouseApp, *args: object, **kwargs: object) -> None:
        self._return_code = 2

    monkeypatch.setattr(cli, "setup_logging", lambda log_file: None)
    monkeypatch.setattr(tui.app.LakehouseApp, "run", fake_run)
    assert cli.main(["--mode", "embedded"]) == 2


def test_logging_goes_to_textual_and_a_file(tmp_path: Path) -> None:
    import logging

    from textual.logging import TextualHandler

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        cli.setup_logging(tmp_path / "tui.log")
        assert [type(h) for h in root.handlers] == [TextualHandler, logging.FileHandler]
        logging.getLogger("lakehouse_core.test").warning("hello")
        root.handlers[1].flush()
        assert "WARNING lakehouse_core.test: hello" in (tmp_path / "tui.log").read_text()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_bad_mode_flag_is_rejected() -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(["--mode", "cloud"])


async def test_status_refresh_timer_probes_periodically(tmp_path: Path) -> None:
    backend = make_fake_backend()
    app = tui.app.LakehouseApp(backend, make_settings(tmp_path, refresh_seconds=0.05))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert await wait_until(pilot, lambda: backend.gate.calls.count("statuses") >= 3)
