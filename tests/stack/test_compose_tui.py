"""The TUI in stack mode against the offline Compose stack (tests/stack/compose_platform.py), its
settings from the stack's env file (``docker.stack_source = "compose"``; endpoints on 127.0.0.2, the
stack's random credentials): the Overview shows every service up; key 1 runs phase 1 through the
stack's Airflow containers (the DAG writes the host data dir the containers mount), key 2 loads it
into the stack's Nessie + MinIO; the Catalog lists the new snapshots and the Nessie refs screen the new
commits; the SQL panel answers a gold query; the Metrics screen draws Prometheus series scraped from
the containers. Then a `docker stop` of MinIO shows it down with its dependants blocked (the
Overview's provider and `lakehouse stack ps`), `docker start` recovers, and the published tables read
the same row counts.

Dremio and Grafana have no offline build (compose/offline.yml leaves them out): they are disabled in
these settings. Phase 2 loads with pyiceberg in this process, not on the stack's Spark containers:
SparkPhaseRunner submits in client mode from this host, so its executors in the containers would need
to reach a driver here, read the phase-1 Parquet at this host's path, and reach MinIO at the
127.0.0.2 endpoint the catalog hands them, none of which holds inside the Compose network.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.models import ServiceState, TableRef
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.stack.compose_platform import (
    PROJECT,
    REPO,
    ComposeStack,
    compose_only,
    no_script_services,  # noqa: F401 - the fixture "stack": no script services
    wait_for,
)
from tests.stack.conftest import commits_since
from tests.tui.conftest import SIZE, cells, settle, text_of, wait_until
from tui.app import LakehouseApp
from tui.messages import PhaseFinished
from tui.screens.catalog import CatalogScreen
from tui.screens.metrics import MetricsScreen
from tui.screens.modals import ConfirmPhaseModal
from tui.screens.refs import NessieRefsScreen
from tui.screens.sql import SqlScreen
from tui.widgets.metric_chart import MetricChart, SeriesLegend
from tui.widgets.results_table import ResultsTable
from tui.widgets.service_table import ServiceTable

pytestmark = compose_only
ORDERS = TableRef(("bronze",), "orders")
SERVICES = ("postgres", "minio", "nessie", "spark", "airflow", "prometheus", "exporter", "jupyter")
TABLES = ("bronze.orders", "silver.orders_enriched", "gold.daily_sales", "gold.customer_metrics")


def compose_settings(stack: ComposeStack, **overrides: Any) -> LakehouseSettings:
    """Stack mode with every endpoint and credential from the stack's env file."""
    values: dict[str, Any] = {
        "mode": "stack",
        "orders": 1000,
        "docker": {
            "stack_source": "compose",
            "compose_file": REPO / "compose" / "docker-compose.yml",
            "compose_files": [REPO / "compose" / "offline.yml"],
            "env_file": stack.env_file,
            "compose_project": PROJECT,
        },
        "dremio": {"enabled": False},
        "grafana": {"enabled": False},
        "tui": TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0),
    }
    values.update(overrides)
    return LakehouseSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_settings_come_from_the_stack_env_file(compose_stack: ComposeStack) -> None:
    s = compose_settings(compose_stack)
    assert s.nessie.url == "http://127.0.0.2:19120" and s.airflow.url == "http://127.0.0.2:8081"
    assert s.minio.secret_key.get_secret_value() == compose_stack.values["MINIO_ROOT_PASSWORD"]
    assert s.data_dir == compose_stack.data_dir and s.airflow.data_dir == "/opt/lakehouse/data"


def _rows(table: ServiceTable) -> dict[str, list[str]]:
    return {row[0]: row for row in cells(table)}


@pytest.mark.timeout(1500)
async def test_the_tui_drives_the_compose_stack_end_to_end(compose_stack: ComposeStack) -> None:
    # new raw data every run: a rerun on a kept stack (LAKEHOUSE_TEST_COMPOSE_ENV_FILE) publishes again
    settings = compose_settings(
        compose_stack, phase1_runner="airflow", generate="always", incremental=False,
        seed=time.time_ns() % 10**6,
    )
    backend = load_backend(settings)
    client = NessieClient(settings)
    before = client.get_ref("main").hash
    app = LakehouseApp(backend, settings)
    arrivals: list[tuple[float, object]] = []
    hook = lambda m: arrivals.append((time.monotonic(), m))  # noqa: E731
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ServiceTable)

        def every_service_up() -> bool:
            rows = _rows(table)
            return all(rows.get(name, ["", ""])[1] == "up" for name in SERVICES)

        assert await wait_until(pilot, lambda: bool(cells(table)), 60)
        assert every_service_up(), cells(table)
        rows = _rows(table)
        assert rows["dremio"][1] == rows["grafana"][1] == "disabled"
        assert rows["minio"][4] == "http://127.0.0.2:9000"
        assert {row[1] for name, row in rows.items() if name not in ("dremio", "grafana")} == {"up"}, rows

        # phase 1 through the Airflow containers, then phase 2 into Nessie + MinIO
        for phase, timeout in ((1, 600), (2, 600)):
            arrivals.clear()
            await pilot.press(str(phase))
            assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmPhaseModal), 30)
            await pilot.press("y")
            assert await wait_until(
                pilot, lambda: any(isinstance(m, PhaseFinished) for _, m in arrivals), timeout)
            finished = next(m for _, m in arrivals if isinstance(m, PhaseFinished))
            assert isinstance(finished, PhaseFinished)
            assert finished.error is None and finished.result is not None, finished.error
            if phase == 1:  # the DAG's tasks wrote the run into the data dir the containers mount
                result = finished.result
                runs = compose_stack.data_dir / "runs"
                assert any(result.run_id in p.name for p in runs.rglob("*")), list(runs.rglob("*"))[:10]
        phase2 = finished.result
        assert phase2 is not None
        new_commits = commits_since(client, "main", before)
        assert new_commits and phase2.run_id in new_commits[0].message

        # catalog: the new snapshot of bronze.orders; refs: the new commits
        await pilot.press("f2")
        await settle(pilot)
        catalog = app.screen
        assert isinstance(catalog, CatalogScreen)
        catalog.open_table(ORDERS, ref="main")
        snapshot = next(s.snapshot_id for s in phase2.snapshots if s.table == "bronze.orders")
        snapshots = catalog.query_one("#snapshots")
        assert await wait_until(pilot, lambda: any(str(snapshot) in row for row in cells(snapshots)), 60)
        snapshots.focus()
        await settle(pilot)
        await pilot.press("n")
        assert await wait_until(pilot, lambda: isinstance(app.screen, NessieRefsScreen), 30)
        refs = app.screen
        log = refs.query_one("#commit-log")
        assert await wait_until(pilot, lambda: refs.log_ref == "main" and len(cells(log)) > 0, 60)
        shown = [row[0] for row in cells(log)]
        assert [c.hash[:12] for c in new_commits] == shown[: len(new_commits)]

        # SQL panel: a gold query
        await pilot.press("f3")
        await settle(pilot)
        sql = app.screen
        assert isinstance(sql, SqlScreen)
        gold = "SELECT COUNT(*) AS days, SUM(num_orders) AS orders FROM gold.daily_sales"
        sql.query_one(TextArea).text = gold
        await pilot.press("ctrl+r")
        grid = sql.query_one(ResultsTable)
        summary = sql.query_one("#result-summary")
        assert await wait_until(pilot, lambda: len(cells(grid)) == 1, 120), text_of(summary)
        days, orders = (int(v.replace(",", "")) for v in cells(grid)[0])
        assert days > 0 and orders > 0

        # metrics: Prometheus series of the running containers
        await pilot.press("f4")
        await settle(pilot)
        metrics = app.screen
        assert isinstance(metrics, MetricsScreen)

        def legend(panel_id: str) -> str:
            chart = next(c for c in metrics.query(MetricChart) if c.panel.panel_id == panel_id)
            return chart.query_one(SeriesLegend).plain

        # process CPU of the containers that export it (instances by their Compose service names),
        # the Spark master's workers and Nessie's JVM heap
        assert await wait_until(pilot, lambda: "postgres-exporter:9187" in legend("cpu"), 60), legend("cpu")
        jobs = {line.split()[2] for line in legend("cpu").splitlines() if len(line.split()) > 2}
        assert {"lakehouse", "postgres", "statsd"} <= jobs, legend("cpu")
        assert await wait_until(pilot, lambda: bool(legend("spark_workers")), 30)
        assert await wait_until(pilot, lambda: "nessie" in legend("jvm_heap"), 30), legend("jvm_heap")


def _counts(settings: LakehouseSettings) -> dict[str, int]:
    backend = load_backend(settings)
    return {t: int(backend.sql.execute(f"SELECT COUNT(*) FROM {t}").tuples()[0][0]) for t in TABLES}


def _stack_ps(settings: LakehouseSettings) -> str:
    env = {
        "PATH": "/usr/bin:/bin:" + str(Path(sys.executable).parent),
        "HOME": str(Path.home()),
        "LAKEHOUSE_MODE": "stack",
        "LAKEHOUSE_DOCKER__STACK_SOURCE": "compose",
        "LAKEHOUSE_DOCKER__COMPOSE_FILE": str(settings.docker.compose_file),
        "LAKEHOUSE_DOCKER__COMPOSE_FILES": ",".join(map(str, settings.docker.compose_files)),
        "LAKEHOUSE_DOCKER__ENV_FILE": str(settings.docker.compose_env_file),
        "LAKEHOUSE_DOCKER__COMPOSE_PROJECT": PROJECT,
        "LAKEHOUSE_CONFIG_FILE": "/nonexistent/lakehouse.toml",
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
    }
    proc = subprocess.run([sys.executable, "-m", "lakehouse_core.cli", "stack", "ps"], capture_output=True,
                          text=True, env=env, timeout=120, cwd="/")
    return proc.stdout + proc.stderr


@pytest.mark.timeout(600)
def test_minio_stopped_shows_down_and_dependants_blocked_then_recovers(compose_stack: ComposeStack) -> None:
    settings = compose_settings(compose_stack)
    before = _counts(settings)
    assert all(before.values()), before  # the tables the end-to-end test published
    provider = load_backend(settings).status
    container = compose_stack.container("minio")
    subprocess.run(["docker", "stop", container], check=True, capture_output=True, timeout=60)
    try:
        rows = {r.name: r for r in provider.statuses()}
        minio = rows["minio"]
        assert minio.state is ServiceState.DOWN and minio.last_error, minio
        assert "exited" in minio.detail.lower(), minio.detail  # its cause: the container is not running
        assert rows["nessie"].state is ServiceState.BLOCKED and rows["nessie"].blocked_by == "minio"
        assert rows["nessie"].detail.startswith("blocked by minio"), rows["nessie"].detail
        spark = rows["spark"]
        assert spark.state is ServiceState.BLOCKED and "root cause: minio is down" in spark.detail, spark
        ps = _stack_ps(settings)  # service | state | health | ports | blocked by
        lines = [line.strip("│").split("│") for line in ps.splitlines() if line.startswith("│")]
        ps_rows = {cols[0]: cols for cols in ([c.strip() for c in line] for line in lines)}
        assert ps_rows["minio"][1].startswith("exited"), ps
        assert ps_rows["minio-init"][4] == "minio", ps
        assert ps_rows["nessie"][4] in ("minio", "minio-init"), ps  # Compose's own edge: via minio-init
    finally:
        subprocess.run(["docker", "start", container], check=True, capture_output=True, timeout=60)
    wait_for(lambda: compose_stack.ps()["minio"].get("Health") == "healthy", 120, "minio healthy again")
    wait_for(lambda: {r.name: r.state for r in provider.statuses()}["nessie"] is ServiceState.UP, 60,
             "nessie no longer blocked")
    assert _counts(settings) == before  # nothing published was lost
