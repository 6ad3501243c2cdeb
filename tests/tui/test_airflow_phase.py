"""The Overview with phase 1 run by AirflowPhaseRunner against a scripted Airflow API: key 1 shows
the DAG's plan, task states fill the phase panel, a failed task's log line is the phase's error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import Label

from lakehouse_core.backends import load_backend
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.core.test_airflow_runner import FakeAirflow, serve_fake
from tests.tui.conftest import SIZE, settle, text_of, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.modals import ConfirmPhaseModal
from tui.widgets.phase_log import PhaseLog


def _app(tmp_path: Path, url: str) -> LakehouseApp:
    settings = LakehouseSettings(  # type: ignore[call-arg]
        _env_file=None, mode="stack", data_dir=tmp_path, phase1_runner="airflow", airflow={"url": url},
        tui=TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0),
    )
    runner = load_backend(settings).phases
    runner._sleep = lambda s: None  # type: ignore[attr-defined]
    backend = dataclasses.replace(make_fake_backend(), mode="stack", phases=runner)
    return LakehouseApp(backend, settings)


async def test_a_failed_airflow_task_shows_its_log_line(tmp_path: Path) -> None:
    with serve_fake(FakeAirflow(fail_at="ingest_to_bronze")) as url:
        app = _app(tmp_path, url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("1")
            assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmPhaseModal), 10)
            details = [text_of(w) for w in app.screen.query(".plan-detail")]
            assert details[0] == f"• runs as Airflow DAG ecommerce_etl_pipeline on {url}"
            await pilot.press("y")

            def status() -> str:
                return text_of(app.screen.query_one("#phase-status", Label))

            assert await wait_until(pilot, lambda: "failed" in status(), 20), status()
            assert status() == (
                "phase 1 failed: ingest_to_bronze failed: raw/orders.csv: line 1: not UTF-8")
            texts = app.screen.query_one(PhaseLog).texts
            assert "[generate_sample_data] finish: 1.50s" in texts
            assert "[ingest_to_bronze] Airflow task state: failed" in texts
