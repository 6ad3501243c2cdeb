"""Overview screen on the fake backend: services, phase keys, confirmation, progress, results, cancel."""

from __future__ import annotations

from textual.widgets import Label

from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fakes import FakeBackend, FakePhaseRunner, make_fake_backend
from tui.app import LakehouseApp
from tui.messages import PhaseProgress, StatusesLoaded
from tui.screens.modals import ConfirmPhaseModal
from tui.screens.overview import OverviewScreen
from tui.widgets.phase_log import PhaseLog
from tui.widgets.phase_panel import PhaseProgressPanel


async def test_service_table_shows_every_status(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        rows = cells(app.screen.query_one("#services"))
        assert rows == [
            ["catalog", "up", "8 tables", "1 ms", "sqlite:///data/catalog.db", ""],
            ["duckdb", "up", "duckdb 1.5.5", "2 ms", "in-process", ""],
            ["postgres", "down", "no answer", "-", "127.0.0.1:5432", "connection refused"],
            ["nessie", "blocked by postgres", "not probed", "-", "http://127.0.0.1:19120", ""],
            ["metrics", "degraded", "1 alert firing", "5 ms", "in-process", ""],
        ]
        assert app.screen.sub_title == "Overview · embedded"


async def test_refresh_key_probes_again(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    messages: list[object] = []
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await settle(pilot)
        assert fake_backend.gate.calls.count("statuses") == 1
        await pilot.press("r")
        await settle(pilot)
        assert fake_backend.gate.calls.count("statuses") == 2
        assert sum(isinstance(m, StatusesLoaded) for m in messages) == 2


async def test_phase_key_shows_plan_then_runs_with_progress(settings: LakehouseSettings) -> None:
    backend = make_fake_backend(orders=2_000, chunk=100)
    messages: list[object] = []
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmPhaseModal)
        assert text_of(modal.query_one("#confirm-title")) == "Run phase 1: Ingest raw data to Bronze?"
        tasks = [text_of(w) for w in modal.query(".plan-task")]
        assert tasks == [
            "1. generate — Generate raw CSVs for customers, products and orders",
            "2. bronze — Type raw rows into Bronze Parquet, quarantine malformed rows",
            "3. quality — Run the quality gates on Bronze",
        ]
        details = [text_of(w) for w in modal.query(".plan-detail")]
        assert details == ["• orders: 2,000 (seed 42)", "• catalog: sqlite:///data/catalog.db"]
        assert "run" not in backend.gate.calls
        await pilot.press("y")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        assert backend.gate.calls.count("run") == 1
        rows = {row.name: row for row in screen.query_one(PhaseProgressPanel).tasks}
        assert list(rows) == ["generate", "bronze", "quality"]
        assert all(r.total == 2_000 and r.done == 2_000 and r.percentage == 1.0 for r in rows.values())
        assert all(r.finished for r in rows.values())
        results = cells(screen.query_one("#phase-results"))
        # 130 columns: no Snaps column, the summary cut with an ellipsis (the status line has it whole)
        assert results[0] == ["1", "ok", "4.5 s", "raw 2,000, bronze …", "3", "2026-01-01 12:00:00"]
        assert results[1][1] == "never run"
        assert text_of(screen.query_one("#phase-status", Label)) == (
            "phase 1 finished in 4.5 s: raw 2,000, bronze 1,997; quality failures 3; snapshots 0"
        )
        log = "\n".join(screen.query_one(PhaseLog).texts)
        assert "[bronze] start: Type raw rows into Bronze Parquet, quarantine malformed rows" in log
        assert "[quality] 2,000 rows" in log
        progress = [m for m in messages if isinstance(m, PhaseProgress)]
        assert [m.event.kind for m in progress if m.event.task == "generate"][0] == "start"
        assert any(n.message.startswith("phase 1 finished") for n in app._notifications)


async def test_declining_the_confirmation_runs_nothing(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmPhaseModal)
        assert app.screen.plan.title == "Silver and Gold on Iceberg"
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert "run" not in fake_backend.gate.calls


async def test_phase_2_result_lists_snapshots_and_last_results_are_loaded(
    settings: LakehouseSettings,
) -> None:
    backend = make_fake_backend()
    phases = backend.phases
    assert isinstance(phases, FakePhaseRunner)
    phases.run(2)  # a previous run, persisted by the backend
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = cells(app.screen.query_one("#phase-results"))
        # 130 columns: no Snaps column, the summary cut with an ellipsis
        assert rows[1] == ["2", "ok", "4.5 s", "silver 4,997, gold…", "0", "2026-01-01 12:00:00"]
        await pilot.resize_terminal(160, 48)  # wide enough for every column
        await settle(pilot)
        rows = cells(app.screen.query_one("#phase-results"))
        assert rows[1] == ["2", "ok", "4.5 s", "silver 4,997, gold 92", "0", "2", "2026-01-01 12:00:00"]
        await pilot.press("3", "y")
        await settle(pilot)
        assert cells(app.screen.query_one("#phase-results"))[2][:3] == ["3", "ok", "1.5 s"]


async def test_cancel_key_stops_a_running_phase(settings: LakehouseSettings) -> None:
    backend = make_fake_backend(orders=1_000_000, chunk=1_000, delay_s=0.01)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert backend.gate.entered["run"].wait(5)
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.running_phase == 1
        await pilot.press("2")  # a second phase is refused while one runs
        await pilot.pause()
        assert any(n.message == "phase 1 is still running" for n in app._notifications)
        await pilot.press("x")
        await settle(pilot)
        assert screen.running_phase is None
        assert text_of(screen.query_one("#phase-status", Label)) == "phase 1 cancelled"
        cancelled = [n for n in app._notifications if n.title == "Cancelled"]
        assert [n.message for n in cancelled] == ["cancelled by user"]
        assert cancelled[0].severity == "warning"


async def test_failed_phase_shows_partial_result_and_error(settings: LakehouseSettings) -> None:
    backend = make_fake_backend()
    phases = backend.phases
    assert isinstance(phases, FakePhaseRunner)
    phases.fail_task = "bronze"
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1", "y")
        await settle(pilot)
        assert cells(app.screen.query_one("#phase-results"))[0][:3] == ["1", "failed", "1.5 s"]
        assert text_of(app.screen.query_one("#phase-status", Label)) == "phase 1 failed: bronze: disk full"
        errors = [n for n in app._notifications if n.severity == "error"]
        assert [(n.title, n.message) for n in errors] == [
            ("Phase failed", "phase 1 failed: bronze: disk full")
        ]


async def test_cancel_without_a_running_phase_warns(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["no phase is running"]
