"""As of a time before a table's first snapshot, the SQL panel says so (the core's one line), on the fake
backend and on the real embedded one; an ISO time after it reads that snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.widgets import TextArea

from lakehouse_core.errors import QueryError
from lakehouse_core.models import AsOf, TableRef
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings
from tests.conftest import embedded_settings
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tests.tui.fakes import FakeBackend
from tui.app import LakehouseApp
from tui.screens.sql import SqlScreen

ORDERS = TableRef(("bronze",), "orders")


async def _run_as_of(app: LakehouseApp, pilot: object, sql: str, as_of: str) -> SqlScreen:
    await pilot.press("f3")  # type: ignore[attr-defined]
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, SqlScreen)
    screen.query_one(TextArea).text = sql
    await pilot.press("ctrl+l", *as_of, "enter")  # type: ignore[attr-defined]  # enter runs it
    assert screen.history or screen.running
    assert await wait_until(pilot, lambda: not screen.running, 60)
    await settle(pilot)
    return screen


async def test_as_of_before_the_first_snapshot_is_said_on_the_fake_backend(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    line = "no snapshot at or before 2001-01-01T00:00:00 in bronze.orders: its first snapshot is from 2026"
    fake_backend.gate.fail["execute"] = QueryError(line, engine="fake")  # as the engines raise it
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_as_of(app, pilot, "SELECT count(*) FROM bronze.orders", "2001-01-01")
        error = screen.query_one("#query-error")
        assert error.display
        assert text_of(error) == f"Query failed: {line}"  # the core's message, no exception type
        assert text_of(screen.query_one("#result-summary")) == "query failed"


async def test_as_of_times_on_the_real_embedded_backend(embedded_lakehouse: Backend) -> None:
    backend = embedded_lakehouse
    settings = embedded_settings(backend.phases.settings.data_path)  # type: ignore[attr-defined]
    first = backend.catalog.snapshots(ORDERS)[0]
    before = (first.committed_at - timedelta(days=1)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    # rounded up: the session fixture may have committed its first snapshot within this very second
    after = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0).isoformat()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _run_as_of(app, pilot, "SELECT count(*) AS n FROM bronze.orders", before.isoformat())
        error = screen.query_one("#query-error")
        assert error.display and "\n" not in text_of(error)
        assert text_of(error) == (
            f"Query failed: no snapshot at or before {before.isoformat()} in bronze.orders: "
            f"its first snapshot is from {first.committed_at.isoformat(timespec='seconds')}"
        )
        await pilot.press("ctrl+l", "end", "ctrl+u", *after, "enter")  # an ISO time after the first
        summary = screen.query_one("#result-summary")
        assert await wait_until(pilot, lambda: not screen.running and " row" in text_of(summary), 60), (
            text_of(summary), text_of(error), screen.history[-1])
        assert not error.display
        assert cells(screen.query_one("#results")) == [["5000"]]
        assert screen.history[-1].as_of == AsOf(timestamp=datetime.fromisoformat(after))
