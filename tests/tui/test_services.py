"""Overview service keys on the fake backend: start, stop/restart after a confirmation, logs, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import RichLog

from lakehouse_core.models import ServiceState, ServiceStatus, SetupStep
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, settle, text_of, wait_until
from tests.tui.fakes import FakeStatusProvider, make_fake_backend
from tui.app import LakehouseApp
from tui.screens.modals import ConfirmActionModal, LogsModal
from tui.screens.overview import OverviewScreen
from tui.widgets.service_table import ServiceTable


def _controllable() -> tuple[object, FakeStatusProvider]:
    backend = make_fake_backend()
    status = backend.status
    assert isinstance(status, FakeStatusProvider)
    status.supports_control = True
    return backend, status


async def test_start_runs_at_once_and_refreshes(settings: LakehouseSettings) -> None:
    backend, status = _controllable()
    app = LakehouseApp(backend, settings)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        probes = status.gate.calls.count("statuses")
        await pilot.press("down", "down")  # postgres (down)
        await pilot.press("u")
        await settle(pilot)
        assert status.controlled == [("start", "postgres")]
        assert [n.message for n in app._notifications] == ["postgres: start done"]
        assert status.gate.calls.count("statuses") == probes + 1  # the table is probed again


async def test_stop_and_restart_ask_first(settings: LakehouseSettings) -> None:
    backend, status = _controllable()
    app = LakehouseApp(backend, settings)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down")  # nessie
        await pilot.press("d")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal)
        assert text_of(modal.query_one("#action-question")) == "Stop nessie?"
        await pilot.press("n")
        await settle(pilot)
        assert status.controlled == [] and "control" not in status.gate.calls
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmActionModal)
        assert text_of(app.screen.query_one("#action-question")) == "Restart nessie?"
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert status.controlled == [("restart", "nessie")]


async def test_a_failing_control_shows_its_cause(settings: LakehouseSettings) -> None:
    backend, status = _controllable()
    app = LakehouseApp(backend, settings)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "u")  # metrics: the fake has no container for it
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert [n.message for n in errors] == ["cannot start metrics: container lakehouse-metrics not found"]
        assert isinstance(app.screen, OverviewScreen)


async def test_embedded_mode_says_control_is_not_supported(settings: LakehouseSettings) -> None:
    backend = make_fake_backend()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)  # no confirmation for an impossible action
        assert [n.message for n in app._notifications] == [
            "cannot stop catalog: this backend does not control services (embedded mode)"
        ]
        assert "control" not in backend.gate.calls


async def test_logs_of_the_selected_service(settings: LakehouseSettings) -> None:
    backend = make_fake_backend()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "l")  # postgres
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, LogsModal)
        assert text_of(modal.query_one("#logs-title")) == "Logs of postgres (last 3 lines)"
        assert [line.text for line in modal.query_one(RichLog).lines] == [
            f"postgres log line {i}" for i in (1, 2, 3)
        ]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("up", "l")  # duckdb: in-process, no logs
        await settle(pilot)
        assert isinstance(app.screen, LogsModal)
        lines = [line.text for line in app.screen.query_one(RichLog).lines]
        assert lines[0].startswith("no logs: embedded components log into this process")


async def test_a_hung_logs_call_leaves_the_ui_responsive(settings: LakehouseSettings) -> None:
    import threading

    backend = make_fake_backend()
    backend.gate.hang["logs"] = threading.Event()
    app = LakehouseApp(backend, settings)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("l")
            await pilot.pause()
            assert backend.gate.entered["logs"].wait(5)
            await pilot.press("f4")  # another key still works while the call hangs
            await pilot.pause()
            assert type(app.screen).__name__ == "MetricsScreen"
    finally:
        backend.gate.release()


class _FakeSetup:
    def __init__(self) -> None:
        self.calls = 0

    def setup(self) -> list[SetupStep]:
        self.calls += 1
        return [SetupStep("dremio", "user dremio", True), SetupStep("dremio", "source nessie", False)]


class _NotSetUpStatus(FakeStatusProvider):
    def statuses(self) -> list[ServiceStatus]:
        row = ServiceStatus("dremio", ServiceState.DEGRADED, "http://127.0.0.1:9047", 3.0,
                            "up, not set up: run `lakehouse setup`", needs_setup=True)
        return [*super().statuses(), row]


async def test_setup_is_offered_when_a_service_needs_it_and_runs_in_a_worker(
    settings: LakehouseSettings,
) -> None:
    backend = make_fake_backend()
    setup = _FakeSetup()
    backend = dataclasses.replace(backend, status=_NotSetUpStatus(backend.gate), setup=setup)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [n.message for n in app._notifications] == [
            "dremio answers but is not set up: press S to set it up"]
        probes = backend.gate.calls.count("statuses")
        await pilot.press("S")
        await settle(pilot)
        assert setup.calls == 1
        assert [n.message for n in app._notifications][-1] == (
            "dremio: user dremio created\ndremio: source nessie already there")
        assert backend.gate.calls.count("statuses") == probes + 1  # the table is probed again


async def test_setup_without_anything_to_set_up(settings: LakehouseSettings) -> None:
    app = LakehouseApp(make_fake_backend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("S")
        await settle(pilot)
        assert [n.message for n in app._notifications] == ["nothing to set up in embedded mode"]


async def test_a_service_started_by_services_sh_logs_from_its_file_and_is_not_in_a_container(
    settings: LakehouseSettings, tmp_path: Path
) -> None:
    """The real stack status provider (every endpoint a closed port, no Docker) with a services.sh
    state dir holding postgres.log: `l` shows the file's last lines, `d` says how to stop it instead."""
    from lakehouse_core.backends.stack.status import StackServiceStatusProvider
    from tests.core.test_stack_status import all_dead

    logs = tmp_path / "state" / "logs"
    logs.mkdir(parents=True)
    (logs / "postgres.log").write_text("".join(f"pg line {i}\n" for i in range(300)))
    provider = StackServiceStatusProvider(all_dead(timeout_s=0.5, state_dir=tmp_path / "state"))
    backend = dataclasses.replace(make_fake_backend(), mode="stack", status=provider)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: bool(app.screen.query_one(ServiceTable).statuses), 10)
        table = app.screen.query_one(ServiceTable)
        table.move_cursor(row=[s.name for s in table.statuses].index("postgres"))
        await pilot.press("l")
        assert await wait_until(pilot, lambda: isinstance(app.screen, LogsModal), 10)
        assert text_of(app.screen.query_one("#logs-title")) == "Logs of postgres (last 200 lines)"
        lines = [line.text for line in app.screen.query_one(RichLog).lines]
        assert lines == [f"pg line {i}" for i in range(100, 300)]
        await pilot.press("escape")
        await settle(pilot)
        for key, verb in (("d", "stop it run `bash scripts/services.sh down"),
                          ("R", "restart it run `bash scripts/services.sh restart")):
            await pilot.press(key)
            message = f"postgres is not in a container: scripts/services.sh started it; to {verb} postgres`"
            assert await wait_until(pilot, lambda m=message: m in [n.message for n in app._notifications])  # type: ignore[misc]
            assert isinstance(app.screen, OverviewScreen)  # no confirmation: nothing would be stopped
