"""StackServiceStatusProvider without real services.

Local sockets and a tiny stdlib HTTP server (closed ports, a black-hole listener, canned health
answers) show each probe outcome; tests/stack/test_status_real.py probes the real services.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import ServiceState, ServiceStatus
from lakehouse_core.ports import ServiceStatusProvider
from lakehouse_core.settings import LakehouseSettings

UP, DOWN, BLOCKED, DEGRADED = ServiceState.UP, ServiceState.DOWN, ServiceState.BLOCKED, ServiceState.DEGRADED
Route = tuple[int, Any]


# ---------------------------------------------------------------- local helpers
def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def black_hole() -> Iterator[int]:
    """A listening socket that never accepts nor answers: connects hang until the client's timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def http_server(routes: dict[str, Route]) -> Iterator[str]:
    """Serve canned ``path -> (status, json body)`` answers on 127.0.0.1:<free port>."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

        def do_GET(self) -> None:  # noqa: N802
            status, body = routes.get(self.path, (404, {"message": f"no {self.path}"}))
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def all_dead(timeout_s: float = 2.0, **overrides: Any) -> LakehouseSettings:
    """Settings whose every endpoint is a closed loopback port, then ``overrides`` (sections as dicts)."""
    def url() -> str:
        return f"http://127.0.0.1:{closed_port()}"

    values: dict[str, Any] = {
        "http_timeout_s": timeout_s,
        "state_dir": Path("/nonexistent/lakehouse-state"),  # no service of scripts/services.sh
        "postgres": {"host": "127.0.0.1", "port": closed_port()},
        "minio": {"endpoint": url()},
        "nessie": {"url": url()},
        "spark": {"ui_url": url()},
        "dremio": {"url": url()},
        "airflow": {"url": url()},
        "prometheus": {"url": url(), "exporter_port": closed_port()},
        "grafana": {"url": url()},
        "jupyter": {"url": url()},
    }
    values.update(overrides)
    return LakehouseSettings(**values)


def by_name(rows: list[ServiceStatus]) -> dict[str, ServiceStatus]:
    return {r.name: r for r in rows}


def with_section(settings: LakehouseSettings, section: str, **fields: Any) -> LakehouseSettings:
    sub = getattr(settings, section).model_copy(update=fields)
    return settings.model_copy(update={section: sub})


# ---------------------------------------------------------------- without real services
def test_provider_satisfies_protocol() -> None:
    provider = StackServiceStatusProvider(all_dead())
    assert isinstance(provider, ServiceStatusProvider)
    assert provider.supports_control is False


def test_every_dead_service_is_a_down_row_with_its_cause() -> None:
    rows = by_name(StackServiceStatusProvider(all_dead()).statuses())
    assert list(rows) == ["postgres", "minio", "nessie", "spark", "dremio", "airflow",
                          "prometheus", "exporter", "grafana", "jupyter", "docker"]
    assert (rows["docker"].state, rows["docker"].detail) == (ServiceState.NOT_CONFIGURED, "no Docker client")
    for name in ("postgres", "minio", "prometheus", "exporter"):
        assert rows[name].state is DOWN, name
        assert rows[name].detail == "connection refused", name
        assert rows[name].last_error == "connection refused", name
    assert (rows["airflow"].state, rows["airflow"].blocked_by) == (BLOCKED, "postgres")
    assert rows["airflow"].detail == "blocked by postgres; own probe: down (connection refused)"
    assert (rows["nessie"].state, rows["nessie"].blocked_by) == (BLOCKED, "minio")
    assert (rows["spark"].state, rows["spark"].blocked_by) == (BLOCKED, "nessie")
    assert (rows["dremio"].state, rows["dremio"].blocked_by) == (BLOCKED, "nessie")
    assert (rows["grafana"].state, rows["grafana"].blocked_by) == (BLOCKED, "prometheus")
    assert (rows["jupyter"].state, rows["jupyter"].blocked_by) == (BLOCKED, "spark")
    assert rows["grafana"].detail == "blocked by prometheus; own probe: down (connection refused)"


def test_health_answers_map_to_states() -> None:
    routes: dict[str, Route] = {
        "/minio/health/live": (200, ""),
        "/api/v2/config": (500, {"message": "boom"}),
        "/json/": (200, {"status": "ALIVE", "aliveworkers": 0}),
        "/api/v2/monitor/health": (200, {"metadatabase": {"status": "healthy"},
                                         "scheduler": {"status": "unhealthy"}}),
        "/": (200, "<html>dremio</html>"),  # Dremio without /apiv2/server_status: GET / fallback
        "/api/health": (200, {"database": "ok"}),
        "/-/ready": (503, "Service Unavailable"),
    }
    with http_server(routes) as url:
        settings = all_dead(
            minio={"endpoint": url}, nessie={"url": url}, spark={"ui_url": url}, dremio={"url": url},
            airflow={"url": url}, grafana={"url": url}, prometheus={"url": url},
        )
        provider = StackServiceStatusProvider(settings)
        raw = by_name(provider.probe_all())
        rows = by_name(provider.statuses())

    # own probe outcomes
    assert (raw["minio"].state, raw["minio"].detail) == (UP, "HTTP 200")
    assert (raw["nessie"].state, raw["nessie"].detail) == (DOWN, "HTTP 500: boom")
    assert raw["nessie"].last_error == "HTTP 500: boom"
    assert (raw["spark"].state, raw["spark"].detail) == (DEGRADED, "no alive worker")
    assert (raw["airflow"].state, raw["airflow"].detail) == (DEGRADED, "unhealthy: scheduler=unhealthy")
    assert (raw["dremio"].state, raw["dremio"].detail) == (UP, "HTTP 200")  # via the GET / fallback
    assert (raw["grafana"].state, raw["grafana"].detail) == (UP, "HTTP 200")
    assert (raw["prometheus"].state, raw["prometheus"].detail) == (DOWN, "HTTP 503: Service Unavailable")
    # displayed rows: dependants of down services are blocked, their own outcome kept in the detail
    assert (rows["spark"].state, rows["spark"].blocked_by) == (BLOCKED, "nessie")
    assert rows["nessie"].blocked_by == "postgres"  # postgres is a closed port here
    assert rows["spark"].detail == (
        "blocked by nessie (root cause: postgres is down); own probe: degraded (no alive worker)"
    )
    assert (rows["grafana"].state, rows["grafana"].blocked_by) == (BLOCKED, "prometheus")
    assert rows["grafana"].detail == "blocked by prometheus; own probe: up"
    assert (rows["minio"].state, rows["minio"].detail, rows["minio"].blocked_by) == (UP, "HTTP 200", None)


def test_spark_alive_with_workers_and_healthy_airflow_are_up() -> None:
    routes: dict[str, Route] = {
        "/json/": (200, {"status": "ALIVE", "aliveworkers": 2}),
        "/api/v2/monitor/health": (200, {"metadatabase": {"status": "healthy"},
                                         "scheduler": {"status": "healthy"}}),
    }
    with http_server(routes) as url:
        provider = StackServiceStatusProvider(all_dead(spark={"ui_url": url}, airflow={"url": url}))
        raw = by_name(provider.probe_all())
    assert (raw["spark"].state, raw["spark"].detail) == (UP, "2 alive worker(s)")
    assert (raw["airflow"].state, raw["airflow"].detail) == (UP, "metadatabase, scheduler healthy")
    assert raw["spark"].latency_ms is not None and raw["spark"].latency_ms > 0


@pytest.mark.timeout(20)
def test_black_hole_endpoints_time_out_concurrently() -> None:
    """Every HTTP service behind a listener that never answers: each row is DOWN "timed out" and the
    probes run in parallel (ten sequential 2 s timeouts would exceed the 20 s guard)."""
    with black_hole() as port:
        hole = f"http://127.0.0.1:{port}"
        settings = all_dead(
            timeout_s=2.0,
            postgres={"host": "127.0.0.1", "port": port},
            minio={"endpoint": hole}, nessie={"url": hole}, spark={"ui_url": hole}, dremio={"url": hole},
            airflow={"url": hole}, prometheus={"url": hole, "exporter_port": port}, grafana={"url": hole},
            jupyter={"url": hole},
        )
        raw = StackServiceStatusProvider(settings).probe_all()
    assert len(raw) == 10
    for row in raw:
        assert row.state is DOWN, row
        assert row.detail.startswith("timed out"), row
        assert row.latency_ms is None or row.latency_ms >= 1_900, row  # it waited for the timeout


def test_probe_errors_never_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    import lakehouse_core.backends.stack.status as status_module

    def boom(*_: object) -> Any:
        raise RuntimeError("kaput")

    monkeypatch.setattr(status_module, "probe_http", boom)
    rows = by_name(StackServiceStatusProvider(all_dead()).probe_all())
    assert rows["minio"].state is DOWN
    assert rows["minio"].detail == "probe error: kaput"
    assert rows["postgres"].detail == "connection refused"  # the other probes are unaffected


def test_control_without_docker_is_a_clear_error() -> None:
    provider = StackServiceStatusProvider(all_dead(), docker=None)
    with pytest.raises(LakehouseError, match="Docker control is disabled"):
        provider.control("nessie", "restart")
    assert provider.logs("nessie") == []


# ---------------------------------------------------------------- services started by scripts/services.sh
def test_a_script_started_service_has_its_log_file_and_is_not_in_a_container(tmp_path: Path) -> None:
    from lakehouse_core.backends.stack.script_services import tail_lines

    logs = tmp_path / "state" / "logs"
    logs.mkdir(parents=True)
    lines = [f"line {i} " + "x" * 200 for i in range(1000)]  # several 64 KiB blocks
    (logs / "postgres.log").write_text("\n".join(lines) + "\n")
    (logs / "dockerd.log").write_text("engine started\n")
    provider = StackServiceStatusProvider(all_dead(state_dir=tmp_path / "state"))
    rows = by_name(provider.statuses())
    assert rows["postgres"].managed_by == "scripts/services.sh"
    assert rows["minio"].managed_by is None  # no log file: not started by the script here
    assert provider.logs("postgres", 3) == lines[-3:]
    assert provider.logs("postgres", 800) == lines[-800:]
    assert provider.logs("docker", 5) == ["engine started"]
    assert provider.logs("minio") == []
    with pytest.raises(LakehouseError) as info:
        provider.control("postgres", "stop")
    assert str(info.value) == (
        "postgres is not in a container: scripts/services.sh started it; "
        "to stop it run `bash scripts/services.sh down postgres`"
    )
    assert info.value.title == "Not in a container"
    with pytest.raises(LakehouseError, match="Docker control is disabled"):
        provider.control("minio", "restart")
    assert tail_lines(logs / "dockerd.log", 0) == []


def test_the_state_dir_defaults_to_the_cache_dir_of_services_sh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKEHOUSE_STATE_DIR", raising=False)
    assert LakehouseSettings(cache_dir=tmp_path).services_state_path == tmp_path / "state"
    assert LakehouseSettings(state_dir=tmp_path / "s").services_state_path == tmp_path / "s"


def test_a_completed_one_shot_container_is_not_down() -> None:
    """A project container no service claims: a one-shot (restart "no") that exited 0 did its job;
    one that failed, or a long-running one that exited, is down."""
    from lakehouse_core.backends.stack.docker_status import ContainerInfo
    from lakehouse_core.backends.stack.status import _container_row

    def info(exit_code: int, restart: str) -> ContainerInfo:
        return ContainerInfo("id", "p-minio-init-1", "minio-init", "exited", None,
                             f"exited (code {exit_code})", exit_code=exit_code, restart_policy=restart)

    done = _container_row(info(0, "no"))
    assert done.state is ServiceState.UP and done.detail.startswith("one-shot, completed")
    assert _container_row(info(1, "no")).state is ServiceState.DOWN
    assert _container_row(info(0, "unless-stopped")).state is ServiceState.DOWN
