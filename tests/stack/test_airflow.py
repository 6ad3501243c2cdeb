"""Phase 1 through the real Airflow of scripts/services/airflow.sh: the DAG imports with its tasks in
order, a REST-triggered run publishes what a local phase 1 publishes, a failing task fails the phase
with its log line and publishes nothing, a scheduler killed mid-run leaves a definite outcome, and
Prometheus holds Airflow's task metrics (StatsD -> statsd_exporter -> job "statsd")."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.airflow_client import AirflowClient
from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
from lakehouse_core.backends.stack.status import StackServiceStatusProvider
from lakehouse_core.errors import LakehouseError, NotFoundError, PhaseFailed
from lakehouse_core.models import PhaseResult, ProgressEvent
from lakehouse_core.monitoring.definition import AIRFLOW_JOB, PANELS
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases import phase1_steps
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import AirflowSettings, LakehouseSettings, load_settings
from tests.phase1_outputs import published_outputs
from tests.stack.conftest import REPO_ROOT, StackEndpoints, make_stack_settings

AIRFLOW_URL = f"http://127.0.0.1:{os.environ.get('AIRFLOW_PORT', '8085')}"
AIRFLOW_SH = REPO_ROOT / "scripts" / "services" / "airflow.sh"
SIX = ["generate_sample_data", "ingest_to_bronze", "validate_data_quality", "transform_to_silver",
       "aggregate_to_gold", "generate_report"]
STEPS = [s.name for s in phase1_steps()]
ORDERS = 300


class Events:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []
        self.lock = threading.Lock()

    def emit(self, event: ProgressEvent) -> None:
        with self.lock:
            self.events.append(event)

    def started(self) -> list[str]:
        with self.lock:
            return [e.task for e in self.events if e.kind == "start"]


def airflow_settings(stack: StackEndpoints, data: Path, **overrides: Any) -> LakehouseSettings:
    return make_stack_settings(stack, data, orders=ORDERS, phase1_runner="airflow",
                               airflow=AirflowSettings(url=AIRFLOW_URL), **overrides)


def wait_for_dag(client: AirflowClient, timeout: float = 120.0) -> list[str]:
    """The DAG's tasks once the dag-processor has parsed it (a fresh Airflow needs a few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.dag_tasks()
        except NotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


@pytest.fixture(scope="module")
def airflow(stack: StackEndpoints) -> Iterator[AirflowClient]:
    client = AirflowClient(AirflowSettings(url=AIRFLOW_URL), timeout_s=10)
    wait_for_dag(client)
    yield client
    client.close()


@dataclass(frozen=True)
class DagRunOutcome:
    settings: LakehouseSettings
    result: PhaseResult
    events: Events
    seconds: float


@pytest.fixture(scope="module")
def dag_run(
    stack: StackEndpoints, airflow: AirflowClient, tmp_path_factory: pytest.TempPathFactory
) -> DagRunOutcome:
    """One phase 1 run through Airflow (shared by the tests that look at a successful run)."""
    settings = airflow_settings(stack, tmp_path_factory.mktemp("airflow") / "data")
    events = Events()
    t0 = time.monotonic()
    result = load_backend(settings).phases.run(1, events)
    return DagRunOutcome(settings, result, events, time.monotonic() - t0)


def test_the_dag_imports_with_no_error_and_its_tasks_in_order(airflow: AirflowClient) -> None:
    errors = [e for e in airflow.import_errors() if "ecommerce_etl_pipeline" in e["filename"]]
    assert errors == []
    tasks = airflow.dag_tasks()
    assert tasks[:6] == SIX
    assert tasks[:8] == STEPS  # then the audit and the publication of the run


def test_a_rest_triggered_run_publishes_what_a_local_phase_1_publishes(
    dag_run: DagRunOutcome, airflow: AirflowClient, stack: StackEndpoints, tmp_path: Path
) -> None:
    result = dag_run.result
    assert result.ok and [t.name for t in result.tasks] == STEPS
    assert result.rows_per_layer["bronze.orders"] == ORDERS
    assert dag_run.events.started() == STEPS  # task states arrived live, in order
    manifest = RunManifests(DataPaths(dag_run.settings.data_path)).load(result.run_id)
    assert manifest["state"] == "published"
    instances = {ti.task_id: ti for ti in airflow.task_instances(manifest["dag_run_id"])}
    assert {t: instances[t].state for t in STEPS} == dict.fromkeys(STEPS, "success")
    starts = [instances[t].started_at for t in STEPS]
    assert starts == sorted(starts)  # the tasks ran one after the other

    local = make_stack_settings(stack, tmp_path / "local", orders=ORDERS, phase_isolation="thread")
    load_backend(local).phases.run(1)
    assert published_outputs(dag_run.settings.data_path) == published_outputs(local.data_path)


def test_a_corrupted_raw_file_fails_its_task_with_the_log_line_and_publishes_nothing(
    airflow: AirflowClient, stack: StackEndpoints, tmp_path: Path
) -> None:
    from lakehouse_core.pipeline.generate import generate_raw

    data = tmp_path / "data"
    generate_raw(data / "raw", orders=ORDERS, seed=42, defect_rate=0.0)
    (data / "raw" / "orders.csv").write_bytes(b"\x00\x01 not a csv \xff\n")
    settings = airflow_settings(stack, data)
    events = Events()
    with pytest.raises(PhaseFailed) as caught:
        load_backend(settings).phases.run(1, events)
    cause = str(caught.value.cause)
    assert cause.startswith("ingest_to_bronze failed: ") and "orders.csv" in cause, cause
    assert caught.value.partial.error == cause
    failed = [e for e in events.events if e.message == "Airflow task state: failed"]
    assert [e.task for e in failed] == ["ingest_to_bronze"]
    manifest = RunManifests(DataPaths(data)).load(caught.value.partial.run_id)
    assert manifest["state"] == "failed"
    states = {ti.task_id: ti.state for ti in airflow.task_instances(manifest["dag_run_id"])}
    assert states["ingest_to_bronze"] == "failed"
    assert states["publish_outputs"] == "upstream_failed"
    assert not (data / "current").exists()


def _scheduler_pid(stack: StackEndpoints) -> int:
    return int((stack.state_dir / "run" / "airflow-scheduler.pid").read_text().split()[0])


def _airflow_row(settings: LakehouseSettings) -> str:
    provider = StackServiceStatusProvider(settings)
    try:
        return next(s.state.value for s in provider.probe_all() if s.name == "airflow")
    finally:
        provider.close()


def _wait_row(settings: LakehouseSettings, want: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    state = _airflow_row(settings)
    while state not in want and time.monotonic() < deadline:
        time.sleep(1)
        state = _airflow_row(settings)
    return state


def test_a_scheduler_killed_mid_run_and_restarted_leaves_a_definite_outcome(
    airflow: AirflowClient, stack: StackEndpoints, tmp_path: Path
) -> None:
    settings = airflow_settings(stack, tmp_path / "data")
    events = Events()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = load_backend(settings).phases.run(1, events)
        except LakehouseError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    deadline = time.monotonic() + 120
    while "ingest_to_bronze" not in events.started() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "ingest_to_bronze" in events.started(), "the DAG run never reached its second task"
    pid = _scheduler_pid(stack)
    os.kill(pid, signal.SIGKILL)
    try:
        assert _wait_row(settings, {"degraded", "down"}, 60) in ("degraded", "down")
    finally:
        proc = subprocess.run(["bash", str(AIRFLOW_SH), "start", "scheduler"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
    assert _wait_row(settings, {"up"}, 90) == "up"
    worker.join(timeout=300)
    with contextlib.suppress(ProcessLookupError):  # the killed scheduler's executor workers
        os.killpg(pid, signal.SIGKILL)
    assert not worker.is_alive(), "the phase did not end after the scheduler came back"
    if "error" in outcome:
        assert isinstance(outcome["error"], PhaseFailed), outcome["error"]
        run_id = outcome["error"].partial.run_id
    else:
        run_id = outcome["result"].run_id
    manifest = RunManifests(DataPaths(settings.data_path)).load(run_id)
    assert manifest["state"] in ("published", "failed")
    assert airflow.dag_run(manifest["dag_run_id"]).state in ("success", "failed")


def test_prometheus_has_airflow_task_metrics_after_a_run(
    dag_run: DagRunOutcome, stack: StackEndpoints
) -> None:
    query = 'airflow_task_duration_count{dag_id="ecommerce_etl_pipeline",task_id="ingest_to_bronze"}'
    deadline = time.monotonic() + 30
    result: list[Any] = []
    while time.monotonic() < deadline:
        body = httpx.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=5).json()
        result = body["data"]["result"]
        if result and float(result[0]["value"][1]) >= 1:
            break
        time.sleep(1)
    assert result and float(result[0]["value"][1]) >= 1, result
    assert result[0]["metric"]["job"] == "statsd"
    # every Airflow panel of the monitoring definition (TUI, Grafana) has samples after the run
    source = PrometheusMetricsSource(load_settings(prometheus={"url": stack.prometheus_url}))
    try:
        for panel in (p for p in PANELS if p.job == AIRFLOW_JOB):
            deadline = time.monotonic() + 30
            found = source.instant(panel.query)
            while not found and time.monotonic() < deadline:
                time.sleep(1)
                found = source.instant(panel.query)
            assert found and {s.labels.get("job") for s in found} == {"statsd"}, (panel.title, found)
    finally:
        source.close()
