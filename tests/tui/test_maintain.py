"""Catalog key M (catalog.maintain): a dry-run preview in a confirmation dialog, then maintenance in
a thread worker; on the fake backend and on the real embedded one."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.iceberg.promote import promote_all
from lakehouse_core.settings import LakehouseSettings, MaintenanceSettings, TuiSettings
from tests.conftest import embedded_settings
from tests.core.iceberg_fixtures import promoted
from tests.tui.conftest import SIZE, settle, text_of, wait_until
from tests.tui.fakes import FakeBackend, FakeMaintenance
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.modals import ConfirmActionModal


async def _open_dialog(pilot: object) -> ConfirmActionModal:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CatalogScreen)
    await pilot.press("M")
    assert await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmActionModal))
    dialog = pilot.app.screen
    assert isinstance(dialog, ConfirmActionModal)
    return dialog


async def test_fake_preview_then_run_on_confirm(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    maintenance = fake_backend.maintenance
    assert isinstance(maintenance, FakeMaintenance)
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(pilot)
        detail = text_of(dialog.query_one("#action-detail"))
        assert "bronze.orders: 12 snapshots would be expired, 40 released files (3.0 MB)" in detail
        assert "total: 12 snapshots would be expired" in detail
        assert maintenance.runs == 0  # the preview is a dry run
        await pilot.press("n")
        await settle(pilot)
        assert maintenance.runs == 0 and isinstance(app.screen, CatalogScreen)
        await _open_dialog(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert maintenance.runs == 1
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("12 snapshots expired, 40 released files") for m in messages)


async def test_fake_failure_is_one_notification(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    from lakehouse_core.errors import ConflictError

    fake_backend.gate.fail["maintenance.run"] = ConflictError("bronze.orders changed during maintenance")
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert any("changed during maintenance" in n.message for n in app._notifications)


@pytest.mark.slow
async def test_real_embedded_backend_expires_on_confirm(tmp_path: Path) -> None:
    root = tmp_path / "data"
    catalog, fx = promoted(root, days=2, per_day=3)
    promote_all(catalog, fx.paths, run_id="run-2")
    tui = TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0, display_cap=50, fetch_limit=1_000)
    settings = embedded_settings(
        root, tui=tui, maintenance=MaintenanceSettings(keep_last=1, keep_days=0)
    )
    backend = load_backend(settings)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(pilot)
        detail = text_of(dialog.query_one("#action-detail"))
        assert "gold.daily_sales: 1 snapshots would be expired" in detail
        assert len(catalog.load_table("gold.daily_sales").snapshots()) == 2  # nothing changed yet
        await pilot.press("y")
        assert await wait_until(
            pilot, lambda: any(n.title == "Maintenance done" for n in app._notifications), 30
        )
    assert len(catalog.load_table("gold.daily_sales").snapshots()) == 1
