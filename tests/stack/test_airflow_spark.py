"""One DAG run from raw files to Iceberg: with ``promote_with_spark`` on, the DAG's last task runs
phase 2 of the published run, its load submitted to the real Spark cluster by SparkSubmitOperator, and
the Nessie branch then holds the gold tables with the row counts of the run's gold Parquet. The
cluster is shared: a test failing on a dead worker says so (`bash scripts/services.sh status`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lakehouse_core.backends.stack.airflow_client import TERMINAL_RUN_STATES, AirflowClient
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.iceberg.staging import published_rows
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import table_rows
from lakehouse_core.publish import current_run
from lakehouse_core.runlog import RunManifests
from tests.stack.conftest import StackEndpoints, make_stack_settings
from tests.stack.test_airflow import ORDERS, STEPS, airflow  # noqa: F401 - the fixture
from tests.stack.test_airflow_lock import _finish

pytestmark = pytest.mark.timeout(1500)


def test_a_dag_run_with_promote_with_spark_goes_from_raw_files_to_iceberg(
    airflow: AirflowClient, stack: StackEndpoints, spark_cluster: None, branch: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    conf = {"data_dir": str(data), "orders": ORDERS, "seed": 42, "promote_with_spark": True,
            "nessie_ref": branch}
    t0 = time.monotonic()
    run = airflow.trigger(conf)
    try:
        run = _finish(airflow, run, timeout=1200)
    finally:
        if run.state not in TERMINAL_RUN_STATES:  # frees the shared cluster (the operator's on_kill)
            airflow.fail_run(run.run_id)
    states = {ti.task_id: ti.state for ti in airflow.task_instances(run.run_id)}
    assert run.state == "success", (states, "a dead Spark worker? see `bash scripts/services.sh status`")
    assert {states[t] for t in (*STEPS, "spark_enabled", "promote_with_spark")} == {"success"}
    result = airflow.xcom(run.run_id, "promote_with_spark")
    assert result["branch"] == branch

    paths = DataPaths(data)
    phase1 = current_run(paths)
    assert phase1 is not None
    expected = {t.identifier: table_rows(t.source_path(paths.for_run(phase1))) for t in TABLES}
    settings = make_stack_settings(stack, data)
    published = published_rows(open_rest_catalog(settings, branch))
    gold = sorted(name for name in expected if name.startswith("gold."))
    assert len(gold) == 4 and {g: published[g] for g in gold} == {g: expected[g] for g in gold}
    assert published == expected  # bronze and silver too
    phase2 = RunManifests(paths).load(result["run_id"])
    assert (phase2["phase"], phase2["state"], phase2["source_run"]) == (2, "published", phase1)
    print(f"promote_with_spark DAG run: {time.monotonic() - t0:.0f}s")
