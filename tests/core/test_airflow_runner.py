"""AirflowPhaseRunner against a scripted Airflow REST API (a local HTTP server answering with respx
routes, so the typed client's own transport is exercised): phase 1 triggered with the run's conf, task
states and log lines as progress events, the result from the tasks' XComs, a failed task's error line
as the phase's cause, cancellation failing the DAG run, token renewal on 401, transport errors mapped."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from lakehouse_core.backends import load_backend
from lakehouse_core.backends.stack.airflow_client import AirflowClient, log_line
from lakehouse_core.backends.stack.airflow_phases import AirflowPhaseRunner
from lakehouse_core.errors import (
    CancelledError,
    ConfigError,
    LakehouseError,
    NotFoundError,
    PhaseFailed,
    ServiceUnavailableError,
)
from lakehouse_core.models import ProgressEvent
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases import phase1_steps
from lakehouse_core.ports import CancelToken
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import LakehouseSettings

BASE = "http://airflow.test"
DAG = f"{BASE}/api/v2/dags/ecommerce_etl_pipeline"
STEPS = [s.name for s in phase1_steps()]
WHEN = "2026-01-01T00:00:00Z"


def run_body(state: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """A DAGRunResponse as Airflow 3.3 sends it (the typed client checks every required field)."""
    return {"dag_run_id": "manual__1", "dag_id": "ecommerce_etl_pipeline",
            "dag_display_name": "ecommerce_etl_pipeline", "dag_versions": [], "run_after": WHEN,
            "run_type": "manual", "state": state, "conf": conf or {}}


def ti_body(task: str, state: str | None) -> dict[str, Any]:
    """A TaskInstanceResponse (state None: not scheduled yet)."""
    return {"id": str(uuid.uuid4()), "task_id": task, "task_display_name": task,
            "dag_id": "ecommerce_etl_pipeline", "dag_display_name": "ecommerce_etl_pipeline",
            "dag_run_id": "manual__1", "run_after": WHEN, "executor_config": "{}", "map_index": -1,
            "max_tries": 1, "pool": "default_pool", "pool_slots": 1, "try_number": 1, "duration": 1.5,
            "state": state}


def task_body(task: str, downstream: list[str]) -> dict[str, Any]:
    return {"task_id": task, "downstream_task_ids": downstream, "depends_on_past": False,
            "wait_for_downstream": False, "retry_exponential_backoff": 0, "extra_links": []}


def xcom_body(task: str, value: Any) -> dict[str, Any]:
    return {"key": "return_value", "value": value, "task_id": task, "task_display_name": task,
            "dag_id": "ecommerce_etl_pipeline", "dag_display_name": "ecommerce_etl_pipeline",
            "run_id": "manual__1", "run_after": WHEN, "map_index": -1, "timestamp": WHEN}


@contextlib.contextmanager
def serve(router: respx.Router) -> Iterator[str]:
    """A local HTTP server answering every request with ``router``'s route for it (the request's URL
    rewritten onto BASE); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = httpx.Request(self.command, BASE + self.path, headers=dict(self.headers), content=body)
            try:
                response = router.handler(request)
            except Exception as exc:  # noqa: BLE001 - no route: what Airflow says of an unknown path
                response = httpx.Response(404, json={"detail": f"no route: {exc}"})
            content = response.read()
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_fake(fake: FakeAirflow) -> Iterator[str]:
    router = respx.Router(assert_all_called=False)
    fake.install(router)
    with serve(router) as url:
        yield url


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
        chain = [task_body(t, [n]) for t, n in zip(STEPS, STEPS[1:], strict=False)]
        tasks = [*reversed(chain), task_body(STEPS[-1], [])]
        router.get(f"{DAG}/tasks").respond(json={"tasks": tasks, "total_entries": len(tasks)})
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
        return httpx.Response(200, json=run_body("queued", self.triggered[-1]["conf"]))

    def _state(self, index: int) -> str | None:
        if self.fail_at is not None and index > STEPS.index(self.fail_at):
            return "upstream_failed" if index - 1 < self.tick else None
        if index < self.tick:
            return "failed" if STEPS[index] == self.fail_at else "success"
        return "running" if index == self.tick else None

    def _run(self, request: httpx.Request) -> httpx.Response:
        self.tick += 1
        done = self.tick > len(STEPS) or (self.fail_at is not None and self.tick > STEPS.index(self.fail_at))
        state = ("failed" if self.fail_at else "success") if done else "running"
        if self.patched:
            state = "failed"
        return httpx.Response(200, json=run_body(state))

    def _patch(self, request: httpx.Request) -> httpx.Response:
        self.patched.append(json.loads(request.content))
        return httpx.Response(200, json=run_body("failed"))

    def _instances(self, request: httpx.Request) -> httpx.Response:
        tis = [ti_body(name, self._state(i)) for i, name in enumerate(STEPS)]
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
        return httpx.Response(200, json=xcom_body(task, value))


class Events:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


def _settings(tmp_path: Path, url: str = BASE) -> LakehouseSettings:
    return LakehouseSettings(_env_file=None, mode="stack", data_dir=tmp_path, phase1_runner="airflow",  # type: ignore[call-arg]
                             airflow={"url": url}, orders=123, seed=9)


def _runner(settings: LakehouseSettings) -> AirflowPhaseRunner:
    backend = load_backend(settings)
    assert isinstance(backend.phases, AirflowPhaseRunner)
    backend.phases._sleep = lambda s: None  # type: ignore[attr-defined]
    return backend.phases


def test_phase_1_runs_as_a_dag_run_with_live_task_states(tmp_path: Path) -> None:
    fake = FakeAirflow()
    events = Events()
    with serve_fake(fake) as url:
        result = _runner(_settings(tmp_path, url)).run(1, events)
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
    assert _runner(_settings(tmp_path)).last_results()[1].run_id == result.run_id


def test_a_failed_task_fails_the_phase_with_its_error_line(tmp_path: Path) -> None:
    fake = FakeAirflow(fail_at="ingest_to_bronze")
    events = Events()
    with serve_fake(fake) as url, pytest.raises(PhaseFailed) as caught:
        _runner(_settings(tmp_path, url)).run(1, events)
    assert str(caught.value.cause) == "ingest_to_bronze failed: raw/orders.csv: line 1: not UTF-8"
    assert [t.name for t in caught.value.partial.tasks] == ["generate_sample_data"]
    assert any(e.message == "Airflow task state: failed" for e in events.events)
    run_id = caught.value.partial.run_id
    assert RunManifests(DataPaths(tmp_path)).load(run_id)["state"] == "failed"


def test_cancel_fails_the_dag_run(tmp_path: Path) -> None:
    fake = FakeAirflow()
    token = CancelToken()

    class CancelOnStart(Events):
        def emit(self, event: ProgressEvent) -> None:
            if event.kind == "start" and event.task == "ingest_to_bronze":
                token.cancel()

    with serve_fake(fake) as url, pytest.raises(CancelledError):
        _runner(_settings(tmp_path, url)).run(1, CancelOnStart(), token)
    assert fake.patched == [{"state": "failed"}]


def test_an_expired_token_is_renewed_once(tmp_path: Path) -> None:
    fake = FakeAirflow()
    with serve_fake(fake) as url:
        client = AirflowClient(_settings(tmp_path, url).airflow, timeout_s=5)
        client._token = "stale"
        fake.reject_next = True
        run = client.trigger({"orders": 1})
        client.close()
    assert (run.run_id, fake.tokens) == ("manual__1", 1)


def test_refusals_and_transport_failures_become_lakehouse_errors(tmp_path: Path) -> None:
    router = respx.Router(assert_all_called=False)
    router.post(f"{BASE}/auth/token").respond(201, json={"access_token": "tok"})
    router.get(f"{DAG}/dagRuns/gone").respond(404, json={"detail": "The DagRun gone was not found"})
    router.get(f"{DAG}/dagRuns/slow").respond(503, json={"detail": "restarting"})
    router.get(f"{DAG}/dagRuns/odd").respond(200, json={"dag_run_id": "odd"})  # required fields missing
    with serve(router) as url:
        client = AirflowClient(_settings(tmp_path, url).airflow, timeout_s=5)
        with pytest.raises(NotFoundError, match="The DagRun gone was not found"):
            client.dag_run("gone")
        with pytest.raises(ServiceUnavailableError, match="HTTP 503: restarting"):
            client.dag_run("slow")
        with pytest.raises(LakehouseError, match="unexpected answer"):
            client.dag_run("odd")
        client.close()
    refused = AirflowClient(_settings(tmp_path, url).airflow, timeout_s=5)  # the server is gone now
    refused._token = "tok"
    with pytest.raises(ServiceUnavailableError, match="connection refused"):
        refused.dag_run("any")


def test_airflow_as_phase_1_runner_needs_its_url(tmp_path: Path) -> None:
    settings = LakehouseSettings(_env_file=None, mode="stack", data_dir=tmp_path, phase1_runner="airflow")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="LAKEHOUSE_AIRFLOW__URL"):
        load_backend(settings)


def test_log_events_become_lines_with_their_exception() -> None:
    event = {"event": "Task failed with exception", "level": "error",
             "error_detail": [{"exc_type": "PhaseFailed", "exc_value": "boom"}]}
    assert log_line(event) == "ERROR: Task failed with exception PhaseFailed: boom"
    assert log_line({"event": "plain", "level": "info"}) == "plain"
