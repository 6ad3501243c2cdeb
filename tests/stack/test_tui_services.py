"""The Overview's service keys against the REAL Docker engine: stop (after the confirmation), start
and logs of a project container (the probe image of ``scripts/services.sh up``), with every row
probed for real by StackServiceStatusProvider."""

from __future__ import annotations

import dataclasses

import pytest
from textual.widgets import RichLog

from lakehouse_core.backends.stack.docker_status import DockerStatus
from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.stack.conftest import StackEndpoints
from tests.stack.test_docker_status import PROJECT, probe  # noqa: F401 - the fixture
from tests.tui.conftest import SIZE, cells, text_of, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.modals import ConfirmActionModal, LogsModal
from tui.widgets.service_table import ServiceTable


@pytest.mark.timeout(240)
async def test_stop_start_and_logs_of_a_container_from_the_overview(
    probe: tuple[str, str],  # noqa: F811
    stack_settings: LakehouseSettings,
) -> None:
    name, service = probe
    provider = StackServiceStatusProvider(stack_settings, docker=DockerStatus(PROJECT, timeout_s=10))
    backend = dataclasses.replace(make_fake_backend(), mode="stack", status=provider)
    tui = TuiSettings(refresh_seconds=1, metrics_refresh_seconds=0)  # the table re-probes every second
    settings = stack_settings.model_copy(update={"tui": tui})
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        table = app.screen.query_one(ServiceTable)

        def state() -> str:
            rows = {row[0]: row for row in cells(table)}
            return rows[service][1] if service in rows else "missing"

        assert await wait_until(pilot, lambda: state() == "up", 90), state()  # healthy, then up
        table.move_cursor(row=[row[0] for row in cells(table)].index(service))
        await pilot.press("d")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmActionModal), 10)
        assert text_of(app.screen.query_one("#action-question")) == f"Stop {service}?"
        await pilot.press("y")
        assert await wait_until(pilot, lambda: state() == "down", 60), state()
        assert provider.docker is not None and not provider.docker.find(name).running  # type: ignore[union-attr]

        table.move_cursor(row=[row[0] for row in cells(table)].index(service))
        await pilot.press("u")
        assert await wait_until(pilot, lambda: state() == "up", 90), state()
        notes = [n.message for n in app._notifications]
        assert f"{service}: stop done" in notes and f"{service}: start done" in notes

        table.move_cursor(row=[row[0] for row in cells(table)].index(service))
        await pilot.press("l")
        assert await wait_until(pilot, lambda: isinstance(app.screen, LogsModal), 30)
        lines = [line.text for line in app.screen.query_one(RichLog).lines]
        assert lines and not lines[0].startswith("no logs")


@pytest.mark.timeout(120)
async def test_logs_and_control_keys_of_a_service_scripts_services_sh_started(
    stack: StackEndpoints, stack_settings: LakehouseSettings
) -> None:
    """postgres runs as a process of scripts/services.sh (no container of Compose project
    ``lakehouse``): `l` shows the tail of its log file, `d` says it is not in a container and how
    to stop it, and stops nothing."""
    settings = stack_settings.model_copy(update={"state_dir": stack.state_dir})
    log_file = stack.state_dir / "logs" / "postgres.log"
    provider = StackServiceStatusProvider(
        settings, docker=DockerStatus(settings.docker.compose_project, timeout_s=10)
    )
    backend = dataclasses.replace(make_fake_backend(), mode="stack", status=provider)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(ServiceTable)
        assert await wait_until(pilot, lambda: "postgres" in {row[0] for row in cells(table)}, 30)
        rows = {s.name: s for s in table.statuses}
        assert rows["postgres"].managed_by == "scripts/services.sh" and rows["postgres"].container is None
        table.move_cursor(row=[row[0] for row in cells(table)].index("postgres"))
        await pilot.press("l")
        assert await wait_until(pilot, lambda: isinstance(app.screen, LogsModal), 30)
        lines = [line.text for line in app.screen.query_one(RichLog).lines]
        in_file = log_file.read_text(errors="replace").splitlines()
        assert lines and set(lines) <= set(in_file), lines[:5]
        assert lines[-1] in in_file[-20:]
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: not isinstance(app.screen, LogsModal), 10)

        table.move_cursor(row=[row[0] for row in cells(table)].index("postgres"))
        await pilot.press("d")
        expected = (
            "postgres is not in a container: scripts/services.sh started it; "
            "to stop it run `bash scripts/services.sh down postgres`"
        )
        assert await wait_until(pilot, lambda: expected in [n.message for n in app._notifications], 30)
        assert not isinstance(app.screen, ConfirmActionModal)  # nothing to confirm: nothing is stopped
    up = {s.name: s for s in StackServiceStatusProvider(settings).probe_all()}
    assert up["postgres"].state.value == "up"
    provider.close()
