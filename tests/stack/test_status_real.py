"""StackServiceStatusProvider against the REAL services started by ``scripts/services.sh up``
(PostgreSQL, MinIO, Nessie, Prometheus); tests/core/test_stack_status.py covers the rest."""

from __future__ import annotations

import time

import pytest

from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.models import ServiceStatus
from lakehouse_core.settings import LakehouseSettings
from tests.core.test_stack_status import BLOCKED, DOWN, UP, black_hole, by_name, closed_port, with_section


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



# ---------------------------------------------------------------- against the real services
@pytest.mark.stack
def test_real_services_up_with_latency(stack_settings: LakehouseSettings) -> None:
    wait_until_up(stack_settings, "postgres", "minio", "nessie", "prometheus")
    settings = with_section(stack_settings, "spark", ui_url=f"http://127.0.0.1:{closed_port()}")
    settings = with_section(settings, "jupyter", url=f"http://127.0.0.1:{closed_port()}")
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
    settings = with_section(settings, "dremio", url=f"http://127.0.0.1:{closed_port()}")
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
        settings = with_section(settings, "spark", ui_url=f"http://127.0.0.1:{closed_port()}")
        settings = settings.model_copy(update={"http_timeout_s": 2.0})
        rows = by_name(StackServiceStatusProvider(settings).statuses())
    assert rows["nessie"].state is DOWN
    assert rows["nessie"].detail.startswith("timed out")
    assert rows["minio"].state is UP and rows["postgres"].state is UP
    assert (rows["spark"].state, rows["spark"].blocked_by) == (BLOCKED, "nessie")
