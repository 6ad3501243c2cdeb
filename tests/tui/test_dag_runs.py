"""The Airflow screen (Overview, key a) on a fake DagRunBrowser: recent runs with state and duration,
the task grid of the highlighted run, a task's log; without Airflow it says how to add it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from textual.widgets import RichLog

from lakehouse_core.models import DagRunInfo, TaskInstanceInfo
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fakes import FakeBackend
from tui.app import LakehouseApp
from tui.screens.dag_runs import NO_AIRFLOW, DagRunsScreen

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class FakeDagRuns:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def recent_runs(self, limit: int = 10) -> list[DagRunInfo]:
        self.calls.append(("runs",))
        return [
            DagRunInfo("etl", "manual__2", "failed", started_at=T0, duration_s=12.5),
            DagRunInfo("etl", "manual__1", "success", started_at=T0, duration_s=61.0),
        ]

    def task_instances(self, run_id: str) -> list[TaskInstanceInfo]:
        self.calls.append(("tasks", run_id))
        if run_id == "manual__1":
            return [TaskInstanceInfo("generate_sample_data", "success", 1, duration_s=5.0),
                    TaskInstanceInfo("ingest_to_bronze", "success", 1, duration_s=4.0)]
        return [TaskInstanceInfo("generate_sample_data", "success", 1, duration_s=5.0),
                TaskInstanceInfo("ingest_to_bronze", "failed", 2, duration_s=3.0),
                TaskInstanceInfo("validate_data_quality", "upstream_failed", 0)]

    def task_log(self, run_id: str, task_id: str, try_number: int) -> list[str]:
        self.calls.append(("log", run_id, task_id, str(try_number)))
        return [f"{task_id} try {try_number}", "ERROR: Task failed with exception PhaseFailed: bad csv"]


async def test_runs_task_grid_and_a_task_log(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    dag_runs = FakeDagRuns()
    app = LakehouseApp(dataclasses.replace(fake_backend, dag_runs=dag_runs), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DagRunsScreen)
        assert [row[:3] for row in cells(screen.query_one("#dag-runs"))] == [
            ["manual__2", "failed", "12.5 s"], ["manual__1", "success", "61.0 s"]]
        assert cells(screen.query_one("#dag-tasks")) == [
            ["1", "generate_sample_data", "success", "1", "5.0 s"],
            ["2", "ingest_to_bronze", "failed", "2", "3.0 s"],
            ["3", "validate_data_quality", "upstream_failed", "0", "-"],
        ]
        assert text_of(screen.query_one("#dag-run-title")) == "run manual__2 · failed · 12.5 s"
        screen.query_one("#dag-tasks").focus()
        await pilot.press("down", "l")
        await settle(pilot)
        assert ("log", "manual__2", "ingest_to_bronze", "2") in dag_runs.calls
        log = screen.query_one("#task-log", RichLog)
        assert [line.text for line in log.lines] == [
            "ingest_to_bronze try 2", "ERROR: Task failed with exception PhaseFailed: bad csv"]
        assert text_of(screen.query_one("#task-log-title")).startswith("log of ingest_to_bronze (try 2)")
        screen.query_one("#dag-runs").focus()
        await pilot.press("down")  # the other run: its task grid
        await settle(pilot)
        assert [row[2] for row in cells(screen.query_one("#dag-tasks"))] == ["success", "success"]
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DagRunsScreen)


async def test_without_airflow_the_screen_says_how_to_add_it(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        title = app.screen.query_one("#dag-run-title")
        assert text_of(title) == NO_AIRFLOW[fake_backend.mode]
        assert title.size.height >= 2  # wrapped in the pane, not cut at its edge
