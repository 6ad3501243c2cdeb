"""load_backend in stack mode against the real services (Dremio is the fake of tests/core/fake_dremio.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lakehouse_core.settings import LakehouseSettings
from tests.core.fake_dremio import FakeDremio
from tests.stack.test_status_real import wait_until_up


@pytest.fixture
def fake() -> Iterator[FakeDremio]:
    with FakeDremio(orders=1_234) as server:
        yield server


def test_build_stack_wires_every_capability(fake: FakeDremio, stack_settings: LakehouseSettings) -> None:
    from lakehouse_core.backends import load_backend
    from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
    from lakehouse_core.backends.stack.status import StackServiceStatusProvider
    from lakehouse_core.models import ServiceState
    from lakehouse_core.ports import (
        CatalogBrowser,
        MetricsSource,
        PhaseRunner,
        ServiceStatusProvider,
        SqlEngine,
    )

    settings = stack_settings.model_copy(
        update={"mode": "stack", "dremio": stack_settings.dremio.model_copy(update={"url": fake.url})})
    backend = load_backend(settings)
    assert backend.mode == "stack"
    assert isinstance(backend.status, StackServiceStatusProvider)
    assert isinstance(backend.status, ServiceStatusProvider)
    assert isinstance(backend.catalog, CatalogBrowser)
    assert isinstance(backend.sql, SqlEngine) and backend.setup is not None
    assert isinstance(backend.metrics, PrometheusMetricsSource) and isinstance(backend.metrics, MetricsSource)
    assert isinstance(backend.phases, PhaseRunner)
    wait_until_up(settings, "postgres", "minio", "nessie")
    rows = {r.name: r for r in backend.status.statuses()}
    assert rows["nessie"].state is ServiceState.UP, rows["nessie"]
    assert rows["dremio"].state is ServiceState.DEGRADED  # it answers, without sources yet
    assert rows["dremio"].needs_setup
    assert [step.created for step in backend.setup.setup()] == [False, True, True]
    assert backend.sql.execute("SELECT count(*) FROM bronze.orders").tuples() == ((1_234,),)
    assert backend.sql.name == "dremio"
