"""Overview on the fake backend: services that are not configured or disabled are dim rows saying so,
never red, next to the Docker engine's own row."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.widgets import DataTable

from lakehouse_core.models import ServiceState, ServiceStatus
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle
from tests.tui.fakes import FakeBackend
from tui.app import LakehouseApp

ROWS = [
    ServiceStatus("nessie", ServiceState.UP, "http://127.0.0.1:19120", 3.0, "HTTP 200"),
    ServiceStatus("spark", ServiceState.NOT_CONFIGURED, "", None, "set LAKEHOUSE_SPARK__UI_URL to add it"),
    ServiceStatus("dremio", ServiceState.DISABLED, "http://127.0.0.1:9047", None,
                  "dremio.enabled is false in the settings"),
    ServiceStatus("docker", ServiceState.UP, "unix:///var/run/docker.sock", None,
                  "engine answers; project 'lakehouse': 0/0 containers running", kind="engine"),
]


async def test_not_configured_and_disabled_services_are_dim_rows(
    fake_backend: FakeBackend, settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_backend.status, "statuses", lambda: list(ROWS))
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#services", DataTable)
        assert cells(table) == [
            ["nessie", "up", "HTTP 200", "3 ms", "http://127.0.0.1:19120", ""],
            ["spark", "not configured", "set LAKEHOUSE_SPARK__UI_URL to add it", "-", "-", ""],
            ["dremio", "disabled", "dremio.enabled is false in the settings", "-",
             "http://127.0.0.1:9047", ""],
            ["docker", "up", "engine answers; project 'lakehouse': 0/0 containers running", "-",
             "unix:///var/run/docker.sock", ""],
        ]
        for index, inactive in ((0, False), (1, True), (2, True), (3, False)):
            name, state, detail = table.get_row_at(index)[:3]
            assert isinstance(state, Text)
            assert ("dim" in str(state.style)) is inactive
            assert ("red" in str(state.style)) is False
            for cell in (name, detail):
                assert (isinstance(cell, Text) and "dim" in str(cell.style)) is inactive
