"""Phase 1 one step per process call (what each task of the Airflow DAG runs): the same outputs as
a phase 1 in one call, the run's manifest recorded by its owner or by the steps themselves."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse_core.errors import BusyError, PhaseFailed
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases import phase1_steps, run_phase1
from lakehouse_core.phases.dag_step import dag_run_phase1_id, fail_phase1_run, run_phase1_step
from lakehouse_core.phases.lock import RunLock
from lakehouse_core.publish import current_run
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import LakehouseSettings
from tests.phase1_outputs import published_outputs

STEPS = [step.name for step in phase1_steps()]


def _conf(data: Path, **extra: object) -> dict[str, object]:
    return {"data_dir": str(data), "orders": 300, "seed": 7, "defect_rate": 0.02, **extra}


def test_the_steps_one_by_one_publish_what_one_phase_1_call_publishes(tmp_path: Path) -> None:
    results = [
        run_phase1_step(name, _conf(tmp_path / "dag"), dag_run_id="manual__1",
                        run_after=datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        for name in STEPS
    ]
    run_id = dag_run_phase1_id("manual__1", datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert {r["run_id"] for r in results} == {run_id}
    assert [r["task"] for r in results] == STEPS
    assert results[1]["rows"]["bronze.orders"] == 300

    local = tmp_path / "local"
    run_phase1(LakehouseSettings(_env_file=None, data_dir=local, orders=300, seed=7, defect_rate=0.02),  # type: ignore[call-arg]
               run_id="local-run")
    assert published_outputs(tmp_path / "dag") == published_outputs(local)

    paths = DataPaths(tmp_path / "dag")
    assert current_run(paths) == run_id
    manifest = RunManifests(paths).load(run_id)
    assert (manifest["state"], manifest["run_source"], manifest["dag_run_id"]) == (
        "published", "airflow", "manual__1")


def test_a_step_that_fails_raises_and_the_failure_callback_records_the_run(tmp_path: Path) -> None:
    conf = _conf(tmp_path)
    run_phase1_step("generate_sample_data", conf, dag_run_id="r2")
    (tmp_path / "raw" / "orders.csv").write_bytes(b"\x00\x01 not a csv \xff\n")
    with pytest.raises(PhaseFailed):
        run_phase1_step("ingest_to_bronze", {**conf, "generate": "never"}, dag_run_id="r2")
    run_id = next(iter(RunManifests(DataPaths(tmp_path)).run_ids()))
    assert RunManifests(DataPaths(tmp_path)).load(run_id)["state"] == "running"  # a retry may follow
    fail_phase1_run(conf, "ingest_to_bronze failed: boom", dag_run_id="r2")
    manifest = RunManifests(DataPaths(tmp_path)).load(run_id)
    assert (manifest["state"], manifest["error"]) == ("failed", "ingest_to_bronze failed: boom")
    assert current_run(DataPaths(tmp_path)) is None


def test_an_owned_run_is_left_to_its_owner(tmp_path: Path) -> None:
    owner = os.getpid()  # the owner holds the data dir's run lock (this thread, another thread runs the step)
    owned = _conf(tmp_path, run_id="20261201T100000Z-owned001", owner_pid=owner)
    RunManifests(DataPaths(tmp_path)).begin("20261201T100000Z-owned001", 1, pid=owner)
    with RunLock.for_key(tmp_path, "data-dir").hold("phase 1"):
        result = _in_thread(lambda: run_phase1_step("generate_sample_data", owned))
    assert isinstance(result, dict), result
    fail_phase1_run(owned, "nope")
    manifest = RunManifests(DataPaths(tmp_path)).load("20261201T100000Z-owned001")
    assert (manifest["state"], manifest["pid"]) == ("running", owner)


def test_the_run_id_of_a_dag_run_is_stable_and_shaped_like_a_run_id() -> None:
    when = datetime(2026, 12, 1, 10, 41, 5, tzinfo=UTC)
    first = dag_run_phase1_id("manual__x", when)
    assert first == dag_run_phase1_id("manual__x", when)
    assert first != dag_run_phase1_id("manual__y", when)
    assert first.startswith("20261201T104105Z-") and len(first) == len("20261201T104105Z-") + 8


def _in_thread(fn: Callable[[], object]) -> object:
    """``fn()``'s result or exception, run in another thread (which a run lock held here blocks, as
    another process)."""
    out: list[object] = []

    def target() -> None:
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            out.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join(timeout=120)
    return out[0]


def test_a_step_of_a_run_started_in_airflow_fails_in_one_line_while_a_cli_run_holds_the_data_dir(
    tmp_path: Path,
) -> None:
    with RunLock.for_key(tmp_path, "data-dir").hold("phase 1"):  # what `lakehouse phase 1` holds
        outcome = _in_thread(
            lambda: run_phase1_step("generate_sample_data", _conf(tmp_path), dag_run_id="r3"))
    assert isinstance(outcome, BusyError)
    assert str(outcome).startswith("phase 1 is running since ") and f"pid {os.getpid()}" in str(outcome)
    assert "\n" not in str(outcome)
    assert list(RunManifests(DataPaths(tmp_path)).run_ids()) == []  # nothing of the DAG run was begun


def test_a_step_of_an_owned_run_runs_only_while_its_owner_holds_the_data_dir(tmp_path: Path) -> None:
    conf = _conf(tmp_path, owner_pid=os.getpid(), run_id="owned-1")
    with RunLock.for_key(tmp_path, "data-dir").hold("phase 1"):  # the owner: this process
        result = _in_thread(lambda: run_phase1_step("generate_sample_data", conf, dag_run_id="r4"))
    assert isinstance(result, dict) and result["run_id"] == "owned-1"
    with pytest.raises(BusyError, match="owner pid .* no longer holds the data dir's run lock"):
        run_phase1_step("ingest_to_bronze", conf, dag_run_id="r4")


def test_a_run_started_in_airflow_fails_when_another_run_was_published_between_its_steps(
    tmp_path: Path,
) -> None:
    conf, when = _conf(tmp_path), datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    run_phase1_step("generate_sample_data", conf, dag_run_id="r5", run_after=when)
    run_phase1(LakehouseSettings(_env_file=None, data_dir=tmp_path, orders=300, seed=7),  # type: ignore[call-arg]
               run_id="cli-run")  # a CLI run, published between two steps of the DAG run
    with pytest.raises(BusyError, match="run cli-run was published while DAG run r5 ran"):
        run_phase1_step("ingest_to_bronze", conf, dag_run_id="r5", run_after=when)
    assert current_run(DataPaths(tmp_path)) == "cli-run"
