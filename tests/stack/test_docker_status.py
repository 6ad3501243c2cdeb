"""DockerStatus against the REAL Docker engine of ``scripts/services.sh up`` (probe image
``lakehouse-test/probe``, labelled com.docker.compose.project=lakehouse-test), and the fallback to
HTTP probes when no engine answers."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse_core.backends.stack.docker_status import PROJECT_LABEL, SERVICE_LABEL, DockerStatus
from lakehouse_core.backends.stack.registry import INACTIVE
from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.errors import NotFoundError, ServiceUnavailableError
from lakehouse_core.models import ServiceState
from lakehouse_core.settings import LakehouseSettings, load_settings
from tests.stack.test_status_real import wait_until_up

PROJECT = "lakehouse-test"
PROBE_IMAGE = "lakehouse-test/probe:latest"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check: Any, attempts: int = 60, pause: float = 0.5) -> Any:
    """Poll ``check()`` until truthy (bounded); returns the last value."""
    value = None
    for _ in range(attempts):
        value = check()
        if value:
            return value
        time.sleep(pause)
    return value


@pytest.fixture
def probe() -> Iterator[tuple[str, str]]:
    """Run one probe container of the project (unique name/service); removed afterwards.

    Yields (container name, compose service label)."""
    import docker

    client = docker.from_env(timeout=30)
    name = f"stacksvc-probe-{uuid.uuid4().hex[:8]}"
    container = client.containers.run(
        PROBE_IMAGE,
        detach=True,
        name=name,
        labels={PROJECT_LABEL: PROJECT, SERVICE_LABEL: name},
    )
    try:
        yield name, name
    finally:
        container.remove(force=True)
        client.close()


# ---------------------------------------------------------------- real engine
@pytest.mark.stack
def test_lists_probe_container_with_state_and_health(probe: tuple[str, str]) -> None:
    name, service = probe
    docker_status = DockerStatus(PROJECT)
    assert (docker_status.available, docker_status.reason) == (True, "")

    info = _wait(lambda: (i := docker_status.find(name)) is not None and i.health == "healthy" and i)
    assert info, "probe container never became healthy"
    assert (info.name, info.service, info.state, info.health) == (name, service, "running", "healthy")
    assert info.status == "running (healthy)"
    assert info.image == PROBE_IMAGE
    names = [c.name for c in docker_status.containers()]
    assert name in names and names == sorted(names)
    with pytest.raises(NotFoundError, match="no container 'nope-nope'"):
        docker_status.inspect("nope-nope")
    docker_status.close()


@pytest.mark.stack
@pytest.mark.timeout(180)
def test_stop_start_restart_change_state(probe: tuple[str, str]) -> None:
    import docker

    name, _ = probe
    ds = DockerStatus(PROJECT, timeout_s=10)
    stopped = ds.stop(name)
    assert stopped.state == "exited"
    assert ds.inspect(name).state == "exited"
    assert ds.inspect(name).status.startswith("exited (code ")

    started = ds.start(name)
    assert started.state == "running"

    raw = docker.from_env()
    before = raw.containers.get(name).attrs["State"]["StartedAt"]
    restarted = ds.restart(name)
    after = raw.containers.get(name).attrs["State"]["StartedAt"]
    raw.close()
    assert restarted.state == "running"
    assert after > before  # a new start time: it really restarted
    healthy = _wait(lambda: ds.inspect(name).health == "healthy")
    assert healthy
    ds.close()


@pytest.mark.stack
def test_logs_tail(probe: tuple[str, str]) -> None:
    name, _ = probe
    ds = DockerStatus(PROJECT)
    _wait(lambda: ds.inspect(name).health == "healthy")
    lines = _wait(lambda: len(ds.logs(name, 200)) >= 3 and ds.logs(name, 200))
    assert lines, "busybox httpd -v logged nothing"
    # busybox httpd -v logs one line per health-check request
    assert all(line.endswith(": response:200") for line in lines), lines[-5:]
    tail = ds.logs(name, 2)
    assert len(tail) == 2 and all(line.endswith(": response:200") for line in tail)
    assert ds.logs(name, 0) == []
    ds.close()


@pytest.mark.stack
@pytest.mark.timeout(180)
def test_provider_joins_containers_and_controls_them(
    probe: tuple[str, str], stack_settings: LakehouseSettings
) -> None:
    name, service = probe
    provider = StackServiceStatusProvider(stack_settings, docker=DockerStatus(PROJECT, timeout_s=10))
    assert provider.supports_control is False  # building asked nothing of the engine
    provider.statuses()
    assert provider.supports_control is True
    _wait(lambda: provider.docker is not None and (i := provider.docker.find(name)) and i.health == "healthy")

    wait_until_up(stack_settings, "minio", "postgres", "nessie")
    rows = {r.name: r for r in provider.statuses()}
    row = rows[service]
    assert (row.state, row.kind, row.container, row.detail) == (
        ServiceState.UP, "container", name, "container running (healthy)")
    assert rows["nessie"].state is ServiceState.UP  # HTTP probes still run next to Docker
    assert "docker: unavailable" not in rows["nessie"].detail

    provider.control(service, "stop")
    row = {r.name: r for r in provider.statuses()}[service]
    assert row.state is ServiceState.DOWN
    assert row.detail.startswith("container exited (code ")
    provider.control(service, "start")
    assert _wait(lambda: {r.name: r for r in provider.statuses()}[service].state is ServiceState.UP)
    assert _wait(lambda: provider.logs(service, 10))
    with pytest.raises(NotFoundError):
        provider.control("no-such-service", "restart")


# ---------------------------------------------------------------- no engine
def test_dead_unix_socket_is_unavailable_and_http_probes_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = f"unix://{tmp_path}/nope.sock"
    monkeypatch.setenv("DOCKER_HOST", host)
    ds = DockerStatus(PROJECT, timeout_s=2)
    assert ds.available is False
    assert ds.reason == f"no Docker engine socket at {host}"
    with pytest.raises(ServiceUnavailableError, match="docker is unavailable: no Docker engine socket"):
        ds.containers()

    # a local HTTP service: the probe still runs and reports UP next to the Docker note
    # an empty services state dir: no service here was started by scripts/services.sh
    settings = load_settings(http_timeout_s=2.0, state_dir=tmp_path / "state",
                             minio={"endpoint": f"http://127.0.0.1:{_closed_port()}"})
    provider = StackServiceStatusProvider(settings, docker=ds)
    assert provider.supports_control is False
    rows = {r.name: r for r in provider.statuses()}
    note = f"docker: unavailable (no Docker engine socket at {host}); HTTP probe only"
    assert rows["minio"].state is ServiceState.DOWN
    assert rows["minio"].detail == f"connection refused; {note}"
    probed = [r for r in rows.values() if r.name != "docker" and r.state not in INACTIVE]
    assert probed and all(r.detail.endswith(note) for r in probed)
    assert rows["docker"].state is ServiceState.DOWN
    assert f"no Docker engine socket at {host}" in rows["docker"].detail
    with pytest.raises(ServiceUnavailableError, match="no Docker engine socket"):
        provider.control("minio", "restart")
    assert provider.logs("minio") == []


def test_dead_tcp_engine_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    host = f"tcp://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("DOCKER_HOST", host)
    ds = DockerStatus(PROJECT, timeout_s=2)
    assert ds.available is False
    assert ds.reason == f"connection refused at {host}"


@pytest.mark.stack
def test_real_http_probes_with_dead_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack_settings: LakehouseSettings
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nope.sock")
    provider = StackServiceStatusProvider(stack_settings, docker=DockerStatus(PROJECT, timeout_s=2))
    wait_until_up(stack_settings, "postgres", "minio", "nessie", "prometheus")
    rows = {r.name: r for r in provider.statuses()}
    for svc in ("postgres", "minio", "nessie", "prometheus"):
        assert rows[svc].state is ServiceState.UP, rows[svc]
        assert "docker: unavailable (no Docker engine socket" in rows[svc].detail
