"""``lakehouse stack`` and the TUI's Compose screen on the REAL Docker engine and Compose v2 binary,
against tests/stack/compose_project (init one-shot, db with a healthcheck, api built FROM the probe
image of scripts/services/docker.sh, depending on both; ports on 127.0.0.3). Each test runs its own
project (unique name, free ports) and removes it, with its built image, at the end."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.cli import main
from lakehouse_core.compose.project import ComposeProject, project_from_settings
from lakehouse_core.models import ComposeServiceState
from lakehouse_core.ports import CancelToken
from lakehouse_core.settings import DockerSettings, LakehouseSettings, TuiSettings
from tests.tui.conftest import SIZE, cells, text_of, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.compose import ComposeScreen
from tui.screens.modals import ConfirmActionModal

COMPOSE_FILE = Path(__file__).with_name("compose_project") / "docker-compose.yml"
HOST = "127.0.0.3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[DockerSettings]:
    """A unique project of the test Compose file on free ports; ``down --rmi local`` afterwards."""
    name = f"ctest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CTEST_DB_PORT", str(_free_port()))
    monkeypatch.setenv("CTEST_API_PORT", str(_free_port()))
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_FILE", str(COMPOSE_FILE))
    monkeypatch.setenv("LAKEHOUSE_DOCKER__COMPOSE_PROJECT", name)
    docker = DockerSettings(compose_file=COMPOSE_FILE, compose_project=name, up_timeout_s=180)
    try:
        yield docker
    finally:
        project = project_from_settings(docker)
        argv = project.argv("down", "--rmi", "local", "--volumes", "--remove-orphans", "-t", "1")
        subprocess.run(argv, capture_output=True, timeout=120, check=False)


def _states(project: ComposeProject) -> dict[str, ComposeServiceState]:
    return {row.name: row for row in project.states()}


def _wait(check: object, timeout_s: float = 60.0) -> object:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.5)
    return value


@pytest.mark.timeout(240)
def test_cli_up_ps_blocked_by_start_and_logs(
    project_env: DockerSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stack", "up"]) == 0
    out, err = capsys.readouterr()
    progress = err.splitlines()
    assert "build: [api 2/2] COPY api.txt /srv/api.txt ✓" in progress  # the image build's steps
    for line in ("db: started", "db: healthy", "init: exited", "api: started", "api: healthy"):
        assert line in progress, (line, progress)
    assert progress.index("db: healthy") < progress.index("api: started")  # depends_on waited
    assert "running" in out and "healthy" in out  # `up` ends with the ps table

    assert main(["stack", "ps", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["db"]["state"], rows["db"]["health"]) == ("running", "healthy")
    assert (rows["api"]["state"], rows["api"]["health"], rows["api"]["blocked_by"]) == (
        "running",
        "healthy",
        None,
    )
    assert rows["api"]["ports"] == [f"{HOST}:{project_env_port('CTEST_API_PORT')}->8080/tcp"]
    assert rows["init"]["exit_code"] == 0

    project = project_from_settings(project_env)
    subprocess.run(
        ["docker", "stop", "-t", "1", f"{project_env.compose_project}-db-1"], check=True, timeout=60
    )
    states = _states(project)
    assert states["db"].state == "exited" and states["api"].blocked_by == "db"
    assert main(["stack", "ps"]) == 0
    api_line = next(line for line in capsys.readouterr().out.splitlines() if "│ api " in line)
    assert api_line.rstrip(" │").endswith("db")  # the table's "blocked by" column

    project.control("db", "start")
    assert _wait(lambda: _states(project)["db"].ready, 60), _states(project)["db"]
    assert _states(project)["api"].blocked_by is None

    cancel = CancelToken()
    lines: list[str] = []
    started = time.monotonic()
    for line in project.logs("db", follow=True, tail=1, cancel=cancel):
        lines.append(line)
        if len([x for x in lines if "response:200" in x]) >= 3:  # healthchecks keep logging each second
            cancel.cancel()
            break
    assert len(lines) >= 3 and time.monotonic() - started < 30

    assert main(["stack", "down"]) == 0
    assert all(row.state == "not created" for row in project.states())


def project_env_port(key: str) -> str:
    import os

    return os.environ[key]


@pytest.mark.timeout(240)
async def test_compose_screen_brings_the_stack_up_controls_and_follows_logs(
    project_env: DockerSettings, stack_settings: LakehouseSettings
) -> None:
    tui = TuiSettings(refresh_seconds=1, metrics_refresh_seconds=0)
    settings = stack_settings.model_copy(update={"docker": project_env, "tui": tui})
    provider = StackServiceStatusProvider(settings, docker=None, compose=project_from_settings(project_env))
    backend = dataclasses.replace(make_fake_backend(), mode="stack", status=provider)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen), 10)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        table = screen.query_one("#compose-services")

        def rows() -> dict[str, list[str]]:
            return {row[0]: row for row in cells(table)}

        assert await wait_until(pilot, lambda: set(rows()) == {"api", "db", "init"}, 30), rows()
        assert rows()["db"][1] == "not created" and rows()["api"][4] == "blocked by db"

        await pilot.press("U")  # the whole stack, in a worker: the UI keeps answering meanwhile
        log = screen.query_one("#compose-log")
        assert await wait_until(pilot, lambda: "db: started" in _log_text(log), 60), _log_text(log)
        assert screen.is_running and app.screen is screen
        assert await wait_until(pilot, lambda: "stack up: every service is up" in _log_text(log), 120)
        assert "build: [api 2/2] COPY api.txt /srv/api.txt ✓" in _log_text(log)
        assert await wait_until(pilot, lambda: rows()["api"][1:3] == ["running", "healthy"], 30), rows()

        table.move_cursor(row=list(rows()).index("db"))  # type: ignore[attr-defined]
        await pilot.press("d")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmActionModal), 10)
        assert text_of(app.screen.query_one("#action-question")) == "Stop db?"
        await pilot.press("y")
        stopped = lambda: rows()["api"][4] == "blocked by db" and rows()["db"][1].startswith("exited")  # noqa: E731
        assert await wait_until(pilot, stopped, 60), rows()
        assert await wait_until(pilot, lambda: "db: stop done" in _notes(app), 10)

        table.move_cursor(row=list(rows()).index("db"))  # type: ignore[attr-defined]
        await pilot.press("u")
        assert await wait_until(pilot, lambda: rows()["db"][1:3] == ["running", "healthy"], 60), rows()
        assert await wait_until(pilot, lambda: rows()["api"][4] == "", 30), rows()
        assert await wait_until(pilot, lambda: "db: start done" in _notes(app), 10)

        table.move_cursor(row=list(rows()).index("api"))  # type: ignore[attr-defined]
        await pilot.press("f")
        title = screen.query_one("#compose-log-title")
        assert text_of(title) == "Log of api (following; x stops)"
        assert await wait_until(pilot, lambda: _log_text(log).count("response:200") >= 3, 30), _log_text(log)
        await pilot.press("x")  # stops following: no line comes after that
        await pilot.pause(1.0)
        seen = len(log.lines)  # type: ignore[attr-defined]
        await pilot.pause(2.5)
        assert len(log.lines) == seen  # type: ignore[attr-defined]


def _notes(app: LakehouseApp) -> list[str]:
    return [n.message for n in app._notifications]


def _log_text(log: object) -> str:
    return "\n".join(strip.text for strip in log.lines)  # type: ignore[attr-defined]
