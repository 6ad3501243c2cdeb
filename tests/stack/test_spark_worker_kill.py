"""A Spark worker killed with SIGKILL in the middle of phase 2 on the real cluster: the job either
finishes on the other worker (its tables published whole) or fails with one clear line, and then
nothing of it is visible on the branch. The killed worker is started again (scripts/services.sh up
spark) whatever happens, so the shared cluster has its two workers back."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.spark_phase import SparkPhaseRunner
from lakehouse_core.errors import LakehouseError
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.models import PhaseResult, ProgressEvent
from tests.stack.conftest import SPARK_MASTER_UI, StackEndpoints, make_stack_settings, run_services

pytestmark = pytest.mark.timeout(2400)

ORDERS = 200_000
"""Enough rows that the load outlasts the executors' start: with 1,000 orders (2026-12-01) the job
was over before an executor of it had shown up on worker 2."""

MASTER_UI = SPARK_MASTER_UI
KILLED_UI = "http://127.0.0.1:8092"  # spark-worker-2 of scripts/services/spark.sh


def _executor_apps(ui: str) -> set[str]:
    worker = httpx.get(f"{ui}/json/", timeout=5).json()
    return {e.get("appid") for e in worker.get("executors", [])}


def _worker_ids() -> set[str]:
    """Ids of the workers the master lists ALIVE with worker 2's UI port."""
    workers = httpx.get(f"{MASTER_UI}/json/", timeout=5).json().get("workers", [])
    return {
        w["id"] for w in workers if w.get("webuiaddress", "").endswith(":8092") and w.get("state") == "ALIVE"
    }


def _restart_worker(killed: set[str]) -> None:
    """Start the killed worker again (services.sh up spark) and wait until the master lists it anew."""
    proc = run_services("up", "spark", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _worker_ids() - killed:
            return
        time.sleep(1)
    pytest.fail("the restarted worker 2 did not register with the master")


def test_sigkilled_worker_mid_job_finishes_on_the_other_or_fails_cleanly(
    stack: StackEndpoints, spark_cluster: None, branch: str, tmp_path: Path
) -> None:
    settings = make_stack_settings(
        stack, tmp_path / "data", orders=ORDERS, defect_rate=0.0,
        nessie={"url": stack.nessie_url, "ref": branch},
        spark={"master_url": "spark://127.0.0.1:7077", "ui_url": MASTER_UI, "phase2_engine": "spark"},
    )
    runner = load_backend(settings).phases
    assert isinstance(runner, SparkPhaseRunner)
    runner.demos = False  # the load only: the kill lands in the writes
    assert runner.run(1).ok
    client = NessieClient(settings)
    client.ensure_branch(branch, client.default_branch)
    before = client.get_ref(branch).hash
    events: list[ProgressEvent] = []
    outcome: dict[str, PhaseResult | BaseException] = {}

    class Sink:
        def emit(self, event: ProgressEvent) -> None:
            events.append(event)

    def run() -> None:
        try:
            outcome["result"] = runner.run(2, progress=Sink())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    pid_file = stack.state_dir / "run" / "spark-worker-2.pid"
    assert pid_file.exists(), "spark-worker-2 was not started by services.sh: cannot kill it"
    worker_pid = int(pid_file.read_text().split()[0])
    killed = _worker_ids()
    job = threading.Thread(target=run, daemon=True)
    job.start()
    try:
        app_id = None
        deadline = time.monotonic() + 900  # the cluster may be busy with other applications
        while time.monotonic() < deadline and app_id is None and job.is_alive():
            started = [e.message for e in events if e.message.startswith("application app-")]
            running = [e for e in events if e.kind == "advance"]
            if started and running:  # the application has executors and its stages are under way
                candidate = started[0].split()[1]
                if candidate in _executor_apps(KILLED_UI):
                    app_id = candidate
            time.sleep(0.2)
        assert app_id is not None, ("no task ran with an executor on worker 2", outcome, events[-5:])
        os.kill(worker_pid, signal.SIGKILL)
        job.join(timeout=1200)
        assert not job.is_alive(), "the job neither finished nor failed after the worker was killed"
    finally:
        _restart_worker(killed)

    if "result" in outcome:
        result = outcome["result"]
        assert isinstance(result, PhaseResult) and result.ok, result
        catalog = open_rest_catalog(settings, branch)
        orders = catalog.load_table("bronze.orders").scan().to_arrow()
        assert orders.num_rows == ORDERS  # whole: the tasks of the dead executor ran again elsewhere
        assert sorted(s.table for s in result.snapshots) == sorted(t.identifier for t in TABLES)
    else:
        error = outcome["error"]
        assert isinstance(error, LakehouseError), repr(error)
        assert "\n" not in str(error) and "Spark" in str(error), str(error)
        assert client.get_ref(branch).hash == before  # nothing half-written is visible
