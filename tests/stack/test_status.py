"""StackServiceStatusProvider.

The ``stack``-marked tests probe the REAL services started by ``scripts/services.sh up``
(PostgreSQL, MinIO, Nessie, Prometheus); the others use local sockets and a tiny stdlib HTTP server
(closed ports, a black-hole listener, canned health answers) to show each probe outcome.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
        "postgres": {"host": "127.0.0.1", "port": closed_port()},
        "minio": {"endpoint": url()},
        "nessie": {"url": url()},
        "spark": {"ui_url": url()},
        "dremio": {"url": url()},
        "airflow": {"url": url()},
        "prometheus": {"url": url()},
        "grafana": {"url": url()},
        "jupyter": {"url": url()},
    }
    values.update(overrides)
    return LakehouseSettings(**values)


def by_name(rows: list[ServiceStatus]) -> dict[str, ServiceStatus]:
    return {r.name: r for r in rows}


def wait_until_up(settings: LakehouseSettings, *names: str, attempts: int = 120) -> None:
    """Wait (bounded, 60 s) until the named real services answer their own probes.

    Other test sessions on this machine stop and restart the shared services in their outage tests;
    this only waits out such a restart and fails with the last rows if it does not end."""
    provider = StackServiceStatusProvider(settings)
    rows: dict[str, ServiceStatus] = {}
    for _ in range(attempts):
        rows = {r.name: r for r in provider.probe_all() if r.name in names}
        if all(r.state is UP for r in rows.values()):
            provider.close()
            return
        time.sleep(0.5)
    provider.close()
    pytest.fail(f"services not up: {[r for r in rows.values() if r.state is not UP]}")


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
                          "prometheus", "grafana", "jupyter"]
    for name in ("postgres", "minio", "prometheus"):
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
    probes run in parallel (nine sequential 2 s timeouts would exceed the 20 s guard)."""
    with black_hole() as port:
        hole = f"http://127.0.0.1:{port}"
        settings = all_dead(
            timeout_s=2.0,
            postgres={"host": "127.0.0.1", "port": port},
            minio={"endpoint": hole}, nessie={"url": hole}, spark={"ui_url": hole}, dremio={"url": hole},
            airflow={"url": hole}, prometheus={"url": hole}, grafana={"url": hole}, jupyter={"url": hole},
        )
        raw = StackServiceStatusProvider(settings).probe_all()
    assert len(raw) == 9
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


# ---------------------------------------------------------------- against the real services
@pytest.mark.stack
def test_real_services_up_with_latency(stack_settings: LakehouseSettings) -> None:
    wait_until_up(stack_settings, "postgres", "minio", "nessie", "prometheus")
    settings = with_section(stack_settings, "spark", ui_url=f"http://127.0.0.1:{closed_port()}")
    rows = by_name(StackServiceStatusProvider(settings).statuses())
    for name in ("postgres", "minio", "nessie", "prometheus"):
        row = rows[name]
        assert row.state is UP, row
        assert row.latency_ms is not None and row.latency_ms > 0, row
        assert row.blocked_by is None and row.last_error is None, row
        assert row.checked_at is not None
    assert rows["postgres"].detail.startswith("PostgreSQL 15")
    assert rows["nessie"].detail == "HTTP 200"
    assert rows["nessie"].endpoint == settings.nessie.url
    assert (rows["spark"].state, rows["spark"].detail) == (DOWN, "connection refused")
    assert (rows["jupyter"].state, rows["jupyter"].blocked_by) == (BLOCKED, "spark")


@pytest.mark.stack
def test_real_closed_port_is_down_and_dependants_blocked(stack_settings: LakehouseSettings) -> None:
    wait_until_up(stack_settings, "postgres", "minio", "nessie", "prometheus")
    settings = with_section(stack_settings, "minio", endpoint=f"http://127.0.0.1:{closed_port()}")
    rows = by_name(StackServiceStatusProvider(settings).statuses())
    assert rows["minio"].state is DOWN
    assert rows["minio"].detail == "connection refused"
    assert rows["postgres"].state is UP
    nessie = rows["nessie"]
    assert nessie.state is BLOCKED
    assert nessie.blocked_by == "minio"
    assert nessie.detail == "blocked by minio; own probe: up"  # Nessie itself answers
    assert (rows["dremio"].state, rows["dremio"].blocked_by) == (BLOCKED, "nessie")
    assert rows["prometheus"].state is UP


@pytest.mark.stack
@pytest.mark.timeout(30)
def test_real_stack_with_black_hole_returns(stack_settings: LakehouseSettings) -> None:
    wait_until_up(stack_settings, "postgres", "minio")
    with black_hole() as port:
        settings = with_section(stack_settings, "nessie", url=f"http://127.0.0.1:{port}")
        settings = settings.model_copy(update={"http_timeout_s": 2.0})
        rows = by_name(StackServiceStatusProvider(settings).statuses())
    assert rows["nessie"].state is DOWN
    assert rows["nessie"].detail.startswith("timed out")
    assert rows["minio"].state is UP and rows["postgres"].state is UP
    assert (rows["spark"].state, rows["spark"].blocked_by) == (BLOCKED, "nessie")
