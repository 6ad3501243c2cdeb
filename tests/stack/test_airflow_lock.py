"""A DAG run started in Airflow itself (its REST API or UI, not AirflowPhaseRunner) and a CLI run on
the same data dir never interleave: while the CLI run holds the data dir's run lock, the DAG run's
first task fails in one line naming the holder and nothing of it is published; once the lock is free,
the next DAG run publishes its run, once."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from lakehouse_core.backends.stack.airflow_client import TERMINAL_RUN_STATES, AirflowClient
from lakehouse_core.errors import ServiceUnavailableError
from lakehouse_core.models import DagRunInfo
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.lock import RunLock
from lakehouse_core.publish import current_run
from lakehouse_core.runlog import RunManifests
from tests.stack.test_airflow import ORDERS, STEPS, airflow  # noqa: F401 - the fixture


def _finish(client: AirflowClient, run: DagRunInfo, timeout: float = 240) -> DagRunInfo:
    """``run`` once it ended (an api-server slow to answer on a busy machine is asked again)."""
    deadline = time.monotonic() + timeout
    while run.state not in TERMINAL_RUN_STATES and time.monotonic() < deadline:
        time.sleep(2)
        with contextlib.suppress(ServiceUnavailableError):
            run = client.dag_run(run.run_id)
    return run


def test_a_rest_triggered_dag_run_fails_clearly_while_a_cli_run_holds_the_data_dir(
    airflow: AirflowClient, tmp_path: Path  # noqa: F811
) -> None:
    data = tmp_path / "data"
    conf = {"data_dir": str(data), "orders": ORDERS, "seed": 42}
    t0 = time.monotonic()
    with RunLock.for_key(data, "data-dir").hold("phase 1"):  # what `lakehouse phase 1` holds while it runs
        blocked = _finish(airflow, airflow.trigger(conf))
    assert blocked.state == "failed"
    states = {ti.task_id: ti.state for ti in airflow.task_instances(blocked.run_id)}
    assert states["generate_sample_data"] == "failed"
    assert {states[t] for t in STEPS[1:]} == {"upstream_failed"}
    ti = next(t for t in airflow.task_instances(blocked.run_id) if t.task_id == "generate_sample_data")
    lines = [ln for ln in airflow.task_log(blocked.run_id, ti.task_id, ti.try_number) if "BusyError" in ln]
    assert lines and "phase 1 is running since" in lines[-1] and "--wait" not in lines[-1], lines
    assert current_run(DataPaths(data)) is None and list(RunManifests(DataPaths(data)).run_ids()) == []

    done = _finish(airflow, airflow.trigger(conf))  # the lock is free: the next DAG run goes through
    assert done.state == "success"
    manifests = list(RunManifests(DataPaths(data)).all())
    assert [m["state"] for m in manifests] == ["published"]
    assert current_run(DataPaths(data)) == manifests[0]["run_id"]
    print(f"lock test: {time.monotonic() - t0:.0f}s")
