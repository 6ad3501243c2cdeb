"""The TUI in stack mode with phase 1 run by the real Airflow: key 1 (then y) triggers the DAG, task
states arrive live in the phase panel, and the Airflow screen (key a) lists the run and its tasks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.settings import TuiSettings
from tests.stack.conftest import StackEndpoints
from tests.stack.test_airflow import STEPS, airflow, airflow_settings  # noqa: F401 - the fixture
from tests.tui.conftest import SIZE, cells, settle, wait_until
from tui.app import LakehouseApp
from tui.messages import PhaseFinished, PhaseProgress
from tui.screens.dag_runs import DagRunsScreen
from tui.screens.modals import ConfirmPhaseModal
from tui.widgets.phase_log import PhaseLog


@pytest.mark.timeout(300)
async def test_key_1_runs_phase_1_through_airflow_with_live_task_states(
    airflow: object, stack: StackEndpoints, tmp_path: Path  # noqa: F811
) -> None:
    settings = airflow_settings(stack, tmp_path / "data").model_copy(
        update={"tui": TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0)})
    arrivals: list[tuple[float, object]] = []
    app = LakehouseApp(load_backend(settings), settings)
    hook = lambda m: arrivals.append((time.monotonic(), m))  # noqa: E731
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        await pilot.press("1")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmPhaseModal), 30)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: any(isinstance(m, PhaseFinished) for _, m in arrivals), 240)
        finished = next((t, m) for t, m in arrivals if isinstance(m, PhaseFinished))
        assert finished[1].error is None and finished[1].result is not None  # type: ignore[attr-defined]
        starts = [(t, m.event.task) for t, m in arrivals
                  if isinstance(m, PhaseProgress) and m.event.kind == "start"]
        assert [task for _, task in starts] == STEPS
        assert finished[0] - starts[0][0] > 10  # the first task's state arrived long before the end
        texts = app.screen.query_one(PhaseLog).texts
        assert any(t.startswith("[ingest_to_bronze] start") for t in texts), texts

        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DagRunsScreen)
        assert await wait_until(pilot, lambda: len(cells(screen.query_one("#dag-tasks"))) >= len(STEPS), 30)
        assert cells(screen.query_one("#dag-runs"))[0][1] == "success"
        assert [row[1:3] for row in cells(screen.query_one("#dag-tasks"))][: len(STEPS)] == [
            [task, "success"] for task in STEPS]
