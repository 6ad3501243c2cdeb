"""The SQL panel on the real embedded backend: non-reads are refused in place, reads still run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlparse

import pytest
from textual.widgets import TextArea

from lakehouse_core.backends import load_backend
from lakehouse_core.settings import TuiSettings
from tests.conftest import embedded_settings
from tests.core.iceberg_fixtures import promoted
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tui.app import LakehouseApp
from tui.screens.sql import SqlScreen

pytestmark = pytest.mark.slow


async def test_sql_panel_refuses_non_reads_in_place(tmp_path: Path) -> None:
    catalog, fx = promoted(tmp_path)
    metadata = Path(urlparse(catalog.load_table("bronze.orders").metadata_location).path)
    before = hashlib.sha256(metadata.read_bytes()).hexdigest()
    tui = TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0, display_cap=50, fetch_limit=1_000)
    settings = embedded_settings(tmp_path, tui=tui)
    app = LakehouseApp(load_backend(settings), settings)
    refused = [
        (f"COPY (SELECT 'x') TO '{metadata}' (FORMAT csv)", "COPY"),
        ("CREATE OR REPLACE VIEW gold.daily_sales AS SELECT 1 AS x", "CREATE"),
        ("DROP VIEW gold.daily_sales", "DROP"),
        (f"ATTACH '{tmp_path / 'catalog.db'}' AS cat", "ATTACH"),
        ("INSTALL httpfs FROM 'http://127.0.0.1:9/'", "INSTALL"),
        ("LOAD '/tmp/evil.duckdb_extension'", "LOAD"),
        ("SET enable_external_access = true", "SET"),
    ]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        editor = screen.query_one(TextArea)
        error = screen.query_one("#query-error")
        for sql, kind in refused:
            editor.text = sql
            await pilot.press("ctrl+r")
            assert await wait_until(pilot, lambda: not screen.running and bool(error.display), 60), sql
            assert text_of(error) == f"Query failed: read-only: {kind} statements are not allowed"
        editor.text = "SELECT * FROM read_csv('/etc/passwd')"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert await wait_until(pilot, lambda: not screen.running and bool(error.display), 60)
        assert text_of(error).startswith("Query failed: Permission Error")

        editor.text = "SELECT COUNT(*) AS n FROM gold.daily_sales"
        await pilot.press("ctrl+r")
        assert await wait_until(pilot, lambda: not screen.running and not error.display, 60)
        await settle(pilot)
        assert cells(screen.query_one("#results")) == [[str(len(fx.rows["gold.daily_sales"]))]]
    assert hashlib.sha256(metadata.read_bytes()).hexdigest() == before

