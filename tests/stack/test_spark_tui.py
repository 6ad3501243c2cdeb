"""The TUI in stack mode with phase 2 loaded by Spark (``spark.phase2_engine=spark``) on the real
2-worker cluster: key 2 (then y) submits the job through SparkPhaseRunner, its progress (the
application, stages/tasks) arrives in the phase panel while it runs, and the Catalog then shows the new
snapshots and, on the Nessie refs screen, the run's commits. Key x during the job kills the Spark
application and leaves what readers of the branch see unchanged."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.spark_phase import TASK, SparkPhaseRunner
from lakehouse_core.models import TableRef
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.stack.conftest import SPARK_MASTER_UI, StackEndpoints, commits_since, make_stack_settings
from tests.tui.conftest import SIZE, cells, settle, wait_until
from tui.app import LakehouseApp
from tui.messages import PhaseFinished, PhaseProgress
from tui.screens.catalog import CatalogScreen
from tui.screens.modals import ConfirmPhaseModal
from tui.screens.refs import NessieRefsScreen
from tui.widgets.phase_log import PhaseLog

MASTER_UI = SPARK_MASTER_UI
ORDERS = TableRef(("bronze",), "orders")


def _settings(stack: StackEndpoints, data_dir: Path, branch: str) -> LakehouseSettings:
    return make_stack_settings(
        stack, data_dir, orders=1000, defect_rate=0.0,
        nessie={"url": stack.nessie_url, "ref": branch},
        spark={"master_url": "spark://127.0.0.1:7077", "ui_url": MASTER_UI, "phase2_engine": "spark"},
        tui=TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0),
    )


def _prepared(settings: LakehouseSettings) -> tuple[LakehouseApp, NessieClient, str]:
    """The app on a backend whose phase 1 ran (the DuckDB pipeline), the branch made; its head."""
    backend = load_backend(settings)
    assert isinstance(backend.phases, SparkPhaseRunner)
    backend.phases.demos = False  # the load only (time travel, evolution, pruning: test_spark_phase2)
    assert backend.phases.run(1).ok
    client = NessieClient(settings)
    client.ensure_branch(settings.nessie.ref, client.default_branch)
    return LakehouseApp(backend, settings), client, client.get_ref(settings.nessie.ref).hash


def _spark_events(arrivals: list[tuple[float, object]]) -> list[tuple[float, PhaseProgress]]:
    return [(t, m) for t, m in arrivals if isinstance(m, PhaseProgress) and m.event.task == TASK]


def _app_ids(arrivals: list[tuple[float, object]]) -> list[str]:
    """The Spark application ids the job's "application app-... started" lines name."""
    return [
        m.event.message.split()[1] for _, m in _spark_events(arrivals)
        if m.event.message.startswith("application app-")
    ]


@pytest.mark.timeout(2400)
async def test_key_2_loads_on_spark_with_live_progress_then_catalog_shows_commits_and_snapshots(
    stack: StackEndpoints, spark_cluster: None, branch: str, tmp_path: Path
) -> None:
    settings = _settings(stack, tmp_path / "data", branch)
    app, client, before = _prepared(settings)
    arrivals: list[tuple[float, object]] = []
    hook = lambda m: arrivals.append((time.monotonic(), m))  # noqa: E731
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        await pilot.press("2")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmPhaseModal), 30)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: any(isinstance(m, PhaseFinished) for _, m in arrivals), 2200)
        done_at, finished = next((t, m) for t, m in arrivals if isinstance(m, PhaseFinished))
        assert isinstance(finished, PhaseFinished)
        assert finished.error is None and finished.result is not None, finished.error
        result = finished.result
        events = _spark_events(arrivals)
        started = [t for t, m in events if m.event.message.startswith("application app-")]
        stages = [m.event for _, m in events if m.event.kind == "advance" and "stages" in m.event.message]
        assert started and stages and stages[-1].done > 0, [m.event.message for _, m in events]
        assert done_at - started[0] > 5  # the application's line arrived while the job was running
        texts = app.screen.query_one(PhaseLog).texts
        assert any(t.startswith(f"[{TASK}]") and "application app-" in t for t in texts), texts

        new_commits = commits_since(client, branch, before)
        assert new_commits and result.run_id in new_commits[0].message

        await pilot.press("f2")
        await settle(pilot)
        catalog = app.screen
        assert isinstance(catalog, CatalogScreen)
        catalog.open_table(ORDERS, ref=branch)
        snapshot = next(s.snapshot_id for s in result.snapshots if s.table == "bronze.orders")
        snapshots = catalog.query_one("#snapshots")
        assert await wait_until(pilot, lambda: any(str(snapshot) in row for row in cells(snapshots)), 60)

        snapshots.focus()  # n opens the shown table's ref (the tree's cursor ref while the tree has focus)
        await settle(pilot)
        await pilot.press("n")
        assert await wait_until(pilot, lambda: isinstance(app.screen, NessieRefsScreen), 30)
        refs = app.screen
        log = refs.query_one("#commit-log")
        assert await wait_until(pilot, lambda: refs.log_ref == branch and len(cells(log)) > 0, 60)
        shown = [row[0] for row in cells(log)]
        assert [c.hash[:12] for c in new_commits] == shown[: len(new_commits)]


@pytest.mark.timeout(1200)
async def test_key_x_kills_the_spark_application_and_readers_see_nothing(
    stack: StackEndpoints, spark_cluster: None, branch: str, tmp_path: Path
) -> None:
    settings = _settings(stack, tmp_path / "data", branch)
    app, client, before = _prepared(settings)
    arrivals: list[tuple[float, object]] = []
    hook = lambda m: arrivals.append((time.monotonic(), m))  # noqa: E731
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        await pilot.press("2")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmPhaseModal), 30)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: _app_ids(arrivals), 900)  # behind other apps
        await pilot.press("x")
        assert await wait_until(pilot, lambda: any(isinstance(m, PhaseFinished) for _, m in arrivals), 120)
        finished = next(m for _, m in arrivals if isinstance(m, PhaseFinished))
        assert isinstance(finished, PhaseFinished) and (finished.cancelled or finished.error), finished
    app_id = _app_ids(arrivals)[0]
    master = httpx.get(f"{MASTER_UI}/json/", timeout=10).json()
    assert app_id not in {a["id"] for a in master["activeapps"]}
    assert {a["id"]: a["state"] for a in master["completedapps"]}.get(app_id) == "KILLED"
    assert client.get_ref(branch).hash == before  # readers of the branch see nothing of the run
