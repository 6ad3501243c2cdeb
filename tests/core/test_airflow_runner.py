"""AirflowPhaseRunner against a scripted Airflow REST API (respx): phase 1 triggered with the run's
conf, task states and log lines as progress events, the result from the tasks' XComs, a failed task's
error line as the phase's cause, cancellation failing the DAG run, token renewal on 401."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.airflow_client import AirflowClient, log_line
from lakehouse_core.backends.stack.airflow_phases import AirflowPhaseRunner
from lakehouse_core.errors import CancelledError, ConfigError, PhaseFailed
from lakehouse_core.models import ProgressEvent
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases import phase1_steps
from lakehouse_core.ports import CancelToken
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import LakehouseSettings

BASE = "http://airflow.test"
DAG = f"{BASE}/api/v2/dags/ecommerce_etl_pipeline"
STEPS = [s.name for s in phase1_steps()]


@dataclass
class FakeAirflow:
    """One DAG run advancing one task per GET of the run; ``fail_at`` fails that task."""

    fail_at: str | None = None
    tick: int = 0
    triggered: list[dict[str, Any]] = field(default_factory=list)
    patched: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    reject_next: bool = False

    def install(self, router: respx.Router) -> None:
        router.post(f"{BASE}/auth/token").mock(side_effect=self._token)
        chain = [{"task_id": t, "downstream_task_ids": [n]} for t, n in zip(STEPS, STEPS[1:], strict=False)]
        router.get(f"{DAG}/tasks").respond(
            json={"tasks": [*reversed(chain), {"task_id": STEPS[-1], "downstream_task_ids": []}]})
        router.post(f"{DAG}/dagRuns").mock(side_effect=self._trigger)
        router.get(f"{DAG}/dagRuns/manual__1").mock(side_effect=self._run)
        router.patch(f"{DAG}/dagRuns/manual__1").mock(side_effect=self._patch)
        router.get(f"{DAG}/dagRuns/manual__1/taskInstances").mock(side_effect=self._instances)
        router.get(url__regex=rf"{DAG}/dagRuns/manual__1/taskInstances/(\w+)/logs/\d+").mock(
            side_effect=self._log)
        router.get(url__regex=rf"{DAG}/dagRuns/manual__1/taskInstances/(\w+)/xcomEntries/return_value").mock(
            side_effect=self._xcom)

    def _token(self, request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"username": "admin", "password": "admin"}
        self.tokens += 1
        return httpx.Response(201, json={"access_token": f"tok{self.tokens}"})

    def _trigger(self, request: httpx.Request) -> httpx.Response:
        if self.reject_next:
            self.reject_next = False
            return httpx.Response(401, json={"detail": "Invalid JWT"})
        assert request.headers["authorization"].startswith("Bearer tok")
        self.triggered.append(json.loads(request.content))
        return httpx.Response(200, json={"dag_run_id": "manual__1", "dag_id": "ecommerce_etl_pipeline",
                                         "state": "queued", "conf": self.triggered[-1]["conf"]})

    def _state(self, index: int) -> str:
        if self.fail_at is not None and index > STEPS.index(self.fail_at):
            return "upstream_failed" if index - 1 < self.tick else "none"
        if index < self.tick:
            return "failed" if STEPS[index] == self.fail_at else "success"
        return "running" if index == self.tick else "none"

    def _run(self, request: httpx.Request) -> httpx.Response:
        self.tick += 1
        done = self.tick > len(STEPS) or (self.fail_at is not None and self.tick > STEPS.index(self.fail_at))
        state = ("failed" if self.fail_at else "success") if done else "running"
        if self.patched:
            state = "failed"
        return httpx.Response(200, json={"dag_run_id": "manual__1", "state": state})

    def _patch(self, request: httpx.Request) -> httpx.Response:
        self.patched.append(json.loads(request.content))
        return httpx.Response(200, json={"dag_run_id": "manual__1", "state": "failed"})

    def _instances(self, request: httpx.Request) -> httpx.Response:
        tis = [{"task_id": name, "state": self._state(i), "try_number": 1, "duration": 1.5}
               for i, name in enumerate(STEPS)]
        return httpx.Response(200, json={"task_instances": list(reversed(tis)), "total_entries": len(tis)})

    def _log(self, request: httpx.Request) -> httpx.Response:
        task = request.url.path.split("/taskInstances/")[1].split("/")[0]
        content: list[dict[str, Any]] = [
            {"event": "::group::Pre Execute", "level": "info"},
            {"event": f"lakehouse: {task} start: working on it", "level": "info"},
        ]
        if task == self.fail_at:
            content += [
                {"event": f"lakehouse: {task} log: FAILED: raw/orders.csv: line 1: not UTF-8",
                 "level": "info"},
                {"event": "Task failed with exception", "level": "error",
                 "error_detail": [{"exc_type": "PhaseFailed", "exc_value": "phase 1 failed: not UTF-8"}]},
            ]
        return httpx.Response(200, json={"content": content, "continuation_token": None})

    def _xcom(self, request: httpx.Request) -> httpx.Response:
        task = request.url.path.split("/taskInstances/")[1].split("/")[0]
        value = {"task": task, "seconds": 0.25, "rows": {f"rows.{task}": 3}, "detail": f"{task} done"}
        return httpx.Response(200, json={"key": "return_value", "value": value})


class Events:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


def _settings(tmp_path: Path) -> LakehouseSettings:
    return LakehouseSettings(_env_file=None, mode="stack", data_dir=tmp_path, phase1_runner="airflow",  # type: ignore[call-arg]
                             airflow={"url": BASE}, orders=123, seed=9)


def _runner(settings: LakehouseSettings) -> AirflowPhaseRunner:
    backend = load_backend(settings)
    assert isinstance(backend.phases, AirflowPhaseRunner)
    backend.phases._sleep = lambda s: None  # type: ignore[attr-defined]
    return backend.phases


def test_phase_1_runs_as_a_dag_run_with_live_task_states(tmp_path: Path) -> None:
    fake = FakeAirflow()
    runner = _runner(_settings(tmp_path))
    events = Events()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        result = runner.run(1, events)
    conf = fake.triggered[0]["conf"]
    assert fake.triggered[0]["logical_date"] is None
    assert (conf["orders"], conf["seed"], conf["data_dir"]) == (123, 9, str(tmp_path.resolve()))
    assert conf["run_id"] == result.run_id and conf["owner_pid"] > 0
    assert result.ok and [t.name for t in result.tasks] == STEPS
    assert result.tasks[0].rows == {"rows.generate_sample_data": 3}
    starts = [e.task for e in events.events if e.kind == "start"]
    finishes = [e.task for e in events.events if e.kind == "finish"]
    assert starts == STEPS and finishes == STEPS
    assert any(e.kind == "log" and e.message == "start: working on it" for e in events.events)
    manifest = RunManifests(DataPaths(tmp_path)).load(result.run_id)
    assert (manifest["dag_run_id"], manifest["orchestrator"]) == ("manual__1", "airflow")
    assert runner.last_results()[1].run_id == result.run_id


def test_a_failed_task_fails_the_phase_with_its_error_line(tmp_path: Path) -> None:
    fake = FakeAirflow(fail_at="ingest_to_bronze")
    runner = _runner(_settings(tmp_path))
    events = Events()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        with pytest.raises(PhaseFailed) as caught:
            runner.run(1, events)
    assert str(caught.value.cause) == "ingest_to_bronze failed: raw/orders.csv: line 1: not UTF-8"
    assert [t.name for t in caught.value.partial.tasks] == ["generate_sample_data"]
    assert any(e.message == "Airflow task state: failed" for e in events.events)
    run_id = caught.value.partial.run_id
    assert RunManifests(DataPaths(tmp_path)).load(run_id)["state"] == "failed"


def test_cancel_fails_the_dag_run(tmp_path: Path) -> None:
    fake = FakeAirflow()
    runner = _runner(_settings(tmp_path))
    token = CancelToken()

    class CancelOnStart(Events):
        def emit(self, event: ProgressEvent) -> None:
            if event.kind == "start" and event.task == "ingest_to_bronze":
                token.cancel()

    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        with pytest.raises(CancelledError):
            runner.run(1, CancelOnStart(), token)
    assert fake.patched == [{"state": "failed"}]


def test_an_expired_token_is_renewed_once(tmp_path: Path) -> None:
    fake = FakeAirflow()
    client = AirflowClient(_settings(tmp_path).airflow, timeout_s=5)
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        client._token = "stale"
        fake.reject_next = True
        run = client.trigger({"orders": 1})
    assert (run.run_id, fake.tokens) == ("manual__1", 1)


def test_airflow_as_phase_1_runner_needs_its_url(tmp_path: Path) -> None:
    settings = LakehouseSettings(_env_file=None, mode="stack", data_dir=tmp_path, phase1_runner="airflow")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="LAKEHOUSE_AIRFLOW__URL"):
        load_backend(settings)


def test_log_events_become_lines_with_their_exception() -> None:
    event = {"event": "Task failed with exception", "level": "error",
             "error_detail": [{"exc_type": "PhaseFailed", "exc_value": "boom"}]}
    assert log_line(event) == "ERROR: Task failed with exception PhaseFailed: boom"
    assert log_line({"event": "plain", "level": "info"}) == "plain"
