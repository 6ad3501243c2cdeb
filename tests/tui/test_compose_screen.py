"""The Compose screen (Overview key c) on a fake status provider: rows with state, health, ports and
"blocked by"; stack up with live progress while the UI keeps answering; start at once, stop after a
confirmation; logs followed until x; embedded mode says it has no Compose stack."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import ComposeServiceState, ProgressEvent
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tests.tui.fake_base import Gate
from tests.tui.fakes import FakeStatusProvider, make_fake_backend
from tui.app import LakehouseApp
from tui.screens.compose import ComposeScreen
from tui.screens.modals import ConfirmActionModal


class FakeCompose(FakeStatusProvider):
    """Three services; db down blocks api until it is started; ``up`` waits on ``release_up``."""

    supports_control = True

    def __init__(self, gate: Gate) -> None:
        super().__init__(gate)
        self.db_running = False
        self.release_up = threading.Event()
        self.log_cancelled = threading.Event()

    def compose_services(self) -> list[ComposeServiceState]:
        db = ComposeServiceState(
            "db",
            "running" if self.db_running else "exited",
            "healthy" if self.db_running else None,
            ("127.0.0.3:18091->8080/tcp",),
            exit_code=None if self.db_running else 137,
        )
        api = ComposeServiceState(
            "api",
            "running",
            "healthy",
            ("127.0.0.3:18092->8080/tcp",),
            ("db",),
            blocked_by=None if self.db_running else "db",
        )
        return [api, db, ComposeServiceState("init", "exited", exit_code=0)]

    def stack_up(self, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None) -> None:
        progress.emit(ProgressEvent(0, "build: [api 2/2] COPY api.txt /srv/api.txt", "finish", 1, 1))
        progress.emit(ProgressEvent(0, "db", "log", message="waiting"))
        self.release_up.wait(10)
        self.db_running = True
        progress.emit(ProgressEvent(0, "db", "log", message="healthy"))

    def control(self, service: str, action: str) -> None:  # type: ignore[override]
        self.controlled.append((action, service))
        self.db_running = action != "stop" if service == "db" else self.db_running

    def follow_logs(self, service: str, cancel: CancelToken, lines: int = 100) -> Iterator[str]:
        yield f"{service} old line"
        count = 0
        while not cancel.cancelled:
            count += 1
            yield f"{service} new line {count}"
            cancel._event.wait(0.05)
        self.log_cancelled.set()


def _app(settings: LakehouseSettings) -> tuple[LakehouseApp, FakeCompose]:
    backend = make_fake_backend()
    status = FakeCompose(backend.gate)
    return LakehouseApp(dataclasses.replace(backend, mode="stack", status=status), settings), status  # type: ignore[arg-type]


async def test_rows_up_progress_and_control(settings: LakehouseSettings) -> None:
    app, status = _app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        table = screen.query_one("#compose-services")
        assert cells(table) == [
            ["api", "running", "healthy", "127.0.0.3:18092->8080/tcp", "blocked by db"],
            ["db", "exited (137)", "-", "127.0.0.3:18091->8080/tcp", ""],
            ["init", "exited (0)", "-", "-", ""],
        ]
        assert (
            text_of(screen.query_one("#compose-status")) == "1/3 services running and healthy; blocked: api"
        )

        await pilot.press("U")
        log = screen.query_one("#compose-log")
        assert await wait_until(pilot, lambda: "db: waiting" in _text(log))
        assert "build: [api 2/2] COPY api.txt /srv/api.txt ✓" in _text(log)
        await pilot.press("U")  # a second up is refused while the first runs; the UI answers meanwhile
        notes = lambda: [n.message for n in app._notifications]  # noqa: E731
        assert await wait_until(pilot, lambda: "stack up is already running" in notes())
        status.release_up.set()
        assert await wait_until(pilot, lambda: "stack up: every service is up" in _text(log))
        assert await wait_until(pilot, lambda: cells(table)[0][4] == "")  # api no longer blocked

        await pilot.press("down")  # db
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmActionModal)
        assert text_of(app.screen.query_one("#action-question")) == "Stop db?"
        await pilot.press("y")
        assert await wait_until(pilot, lambda: cells(table)[0][4] == "blocked by db")
        await pilot.press("u")  # start: no confirmation
        assert await wait_until(pilot, lambda: cells(table)[0][4] == "")
        assert status.controlled == [("stop", "db"), ("start", "db")]


async def test_follow_logs_until_cancelled(settings: LakehouseSettings) -> None:
    app, status = _app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        await pilot.press("f")  # api, the first row
        log = screen.query_one("#compose-log")
        assert text_of(screen.query_one("#compose-log-title")) == "Log of api (following; x stops)"
        assert await wait_until(pilot, lambda: "api new line 3" in _text(log))
        assert _text(log).startswith("api old line")
        await pilot.press("x")
        assert await wait_until(pilot, status.log_cancelled.is_set)


async def test_embedded_mode_says_there_is_no_compose_stack(settings: LakehouseSettings) -> None:
    app = LakehouseApp(make_fake_backend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        status = text_of(screen.query_one("#compose-status"))
        assert status == "embedded mode has no Compose stack: run in stack mode (--mode stack)"
        assert cells(screen.query_one("#compose-services")) == []
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ComposeScreen)


def test_the_error_is_a_lakehouse_error() -> None:
    status = FakeStatusProvider(Gate())
    try:
        status.compose_services()
    except LakehouseError as exc:
        assert "no Compose stack" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("compose_services did not raise")


def _text(log: object) -> str:
    return "\n".join(strip.text for strip in log.lines)  # type: ignore[attr-defined]
