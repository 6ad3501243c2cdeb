"""Phase 2 on the real 2-worker Spark cluster (scripts/services/spark.sh) over the real Nessie + MinIO:
``SparkPhaseRunner`` submits spark/jobs/iceberg_operations.py on the run branch, publishes by merge,
and the silver and gold tables equal the embedded DuckDB pipeline's, row by row; both workers ran
executors; the job's pruning report reads 1 file for one day. Cancel kills the application and
leaves what readers see unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.spark_phase import SparkPhaseRunner
from lakehouse_core.errors import CancelledError, PhaseFailed
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.models import ProgressEvent
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import read_live
from lakehouse_core.ports import CancelToken
from lakehouse_core.settings import LakehouseSettings
from tests.stack.conftest import SPARK_MASTER_UI, StackEndpoints, make_stack_settings

pytestmark = pytest.mark.timeout(1800)

MASTER_UI = SPARK_MASTER_UI
WORKER_UIS = ("http://127.0.0.1:8091", "http://127.0.0.1:8092")


class Recorder:
    def __init__(self, cancel: CancelToken | None = None, cancel_on: str = "") -> None:
        self.events: list[ProgressEvent] = []
        self._cancel, self._cancel_on = cancel, cancel_on

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)
        if self._cancel is not None and self._cancel_on and self._cancel_on in event.message:
            self._cancel.cancel()


def _settings(stack: StackEndpoints, data_dir: Path, branch: str) -> LakehouseSettings:
    return make_stack_settings(
        stack, data_dir, orders=5000, defect_rate=0.0,
        nessie={"url": stack.nessie_url, "ref": branch},
        spark={"master_url": "spark://127.0.0.1:7077", "ui_url": MASTER_UI, "phase2_engine": "spark"},
    )


def _sorted(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda row: json.dumps(row, sort_keys=True, default=str))


def _app_id(events: list[ProgressEvent]) -> str:
    started = [e.message for e in events if e.message.startswith("application app-")]
    assert started, [e.message for e in events]
    return started[0].split()[1]


def test_spark_phase2_equals_the_embedded_pipeline_row_by_row(
    stack: StackEndpoints, spark_cluster: None, branch: str, tmp_path: Path
) -> None:
    settings = _settings(stack, tmp_path / "data", branch)
    runner = load_backend(settings).phases
    assert isinstance(runner, SparkPhaseRunner)
    assert runner.run(1).ok  # the embedded DuckDB pipeline: bronze, silver and gold Parquet
    recorder = Recorder()

    result = runner.run(2, progress=recorder)

    assert result.ok, result.error
    assert sorted(s.table for s in result.snapshots) == sorted(t.identifier for t in TABLES)
    app_id = _app_id(recorder.events)
    advances = [e for e in recorder.events if e.kind == "advance" and e.task == "promote_to_iceberg"]
    assert advances and advances[-1].message.startswith("stages ") and advances[-1].done > 0
    # published: the target branch holds the Spark-computed tables; compare with phase 1's Parquet
    source = DataPaths(settings.data_path).published()
    catalog = open_rest_catalog(settings, branch)
    for definition in TABLES:
        if definition.namespace == "bronze":
            continue
        on_spark = catalog.load_table(definition.identifier).scan().to_arrow()
        embedded = read_live(definition.source_path(source))
        assert on_spark.column_names == embedded.column_names, definition.identifier
        assert on_spark.num_rows == embedded.num_rows > 0, definition.identifier
        assert _sorted(on_spark) == _sorted(embedded), definition.identifier
        summary = catalog.load_table(definition.identifier).current_snapshot().summary
        assert summary.get("lakehouse.run-id") == result.run_id
    # both workers ran an executor of this application
    for ui in WORKER_UIS:
        worker = httpx.get(f"{ui}/json/", timeout=10).json()
        apps = {e.get("appid") for e in worker.get("executors", []) + worker.get("finishedexecutors", [])}
        assert app_id in apps, (ui, apps)
    # the job's report: pruning, schema evolution and time travel
    report = json.loads(runner.job_log(result.run_id, "json").read_text())
    pruning = report["pruning"]
    assert pruning["files_with_filter"] == 1 < pruning["files_without_filter"]
    assert report["schema_evolution"]["old_query_same"] is True
    assert report["time_travel"]["rows_at_snapshot"] == 5000
    assert sum(e["tasks"] for e in report.get("executors", [])) > 0 or "executors" not in report


def test_cancel_kills_the_application_and_publishes_nothing(
    stack: StackEndpoints, spark_cluster: None, branch: str, tmp_path: Path
) -> None:
    settings = _settings(stack, tmp_path / "data", branch)
    runner = load_backend(settings).phases
    assert runner.run(1).ok
    client = NessieClient(settings)
    client.ensure_branch(branch, client.default_branch)
    before = client.get_ref(branch).hash
    cancel = CancelToken()
    recorder = Recorder(cancel, cancel_on="application app-")

    with pytest.raises((CancelledError, PhaseFailed)):
        runner.run(2, progress=recorder, cancel=cancel)

    app_id = _app_id(recorder.events)
    master = httpx.get(f"{MASTER_UI}/json/", timeout=10).json()
    assert app_id not in {a["id"] for a in master["activeapps"]}
    assert {a["id"]: a["state"] for a in master["completedapps"]}.get(app_id) == "KILLED"
    assert client.get_ref(branch).hash == before  # readers of the target see nothing of it
