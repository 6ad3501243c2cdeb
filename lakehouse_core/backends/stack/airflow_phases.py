"""AirflowPhaseRunner: stack mode with phase 1 run by Airflow (``settings.phase1_runner = "airflow"``).

Phase 1 triggers the DAG ``settings.airflow.dag_id`` (``compose/airflow/dags/ecommerce_etl_pipeline.py``)
over the REST API with the run's id, data dir and sizes as its conf, follows its task instances and
their logs into progress events, and returns the PhaseResult built from the tasks' results (their
XComs). This process owns the run as a local phase 1 does: it holds the run locks, records the run's
manifest (the DAG's tasks write the run directory, audit it and publish it) and, on a failed DAG run,
raises PhaseFailed whose cause is the failed task's error line. Cancelling fails the DAG run.
Phases 2-4 are StackPhaseRunner's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse_core.backends.stack.airflow_client import (
    FAILED_TASK_STATES,
    TERMINAL_RUN_STATES,
    AirflowClient,
)
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.phases import StackPhaseRunner
from lakehouse_core.errors import CancelledError, LakehouseError, PhaseFailed, ServiceUnavailableError
from lakehouse_core.models import PhasePlan, PhaseResult, ProgressEvent, TaskInstanceInfo, TaskResult
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.phases import phase1_steps, summarize
from lakehouse_core.phases.dag_step import LOG_PREFIX
from lakehouse_core.phases.definitions import phase1_details, phase_plan
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, CatalogBrowser, ProgressSink, SqlEngine
from lakehouse_core.redact import Redactor
from lakehouse_core.runlog import RunManifests
from lakehouse_core.runs import new_run_id
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

FAILED_MARK = "FAILED:"
"""How the step engine's failure line starts (``run_steps``: ``FAILED: <cause>``)."""

OUTAGE_GRACE_S = 60.0
"""How long the api-server may be unreachable during a run before the phase fails."""


@dataclass
class DagRunFollower:
    """Turns successive task-instance listings of one DAG run into progress events: a task's start,
    finish or failure, and the new lines of its log (our steps' ``lakehouse:`` lines and errors)."""

    client: AirflowClient
    run_id: str
    progress: ProgressSink = NULL_PROGRESS
    order: tuple[str, ...] = ()
    """Task ids in DAG order: events follow it whatever order Airflow lists the instances in. When
    given, only these tasks are followed (the phase's steps; not the DAG's optional Spark tasks)."""
    states: dict[str, str] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    seen_lines: dict[tuple[str, int], int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def poll(self) -> list[TaskInstanceInfo]:
        rank = {task: i for i, task in enumerate(self.order)}
        listed = self.client.task_instances(self.run_id)
        if rank:
            listed = [ti for ti in listed if ti.task_id in rank]
        instances = sorted(listed, key=lambda t: rank.get(t.task_id, len(rank)))
        for ti in instances:
            before = self.states.get(ti.task_id)
            if ti.state in ("running", "success", "failed", "up_for_retry") or before == "running":
                self._follow_log(ti)
            if ti.state != before:
                self.states[ti.task_id] = ti.state
                self._emit_state(ti)
        return instances

    def _emit_state(self, ti: TaskInstanceInfo) -> None:
        if ti.state in ("running", "success", "failed", "up_for_retry") and ti.task_id not in self.started:
            self.started.add(ti.task_id)  # a task that ran between two polls still starts before it ends
            if ti.state != "running":
                self.progress.emit(ProgressEvent(1, ti.task_id, "start", message="ran in Airflow"))
        if ti.state == "running":
            event = ProgressEvent(1, ti.task_id, "start", message=f"running in Airflow (try {ti.try_number})")
        elif ti.state == "success":
            seconds = ti.duration_s or 0.0
            event = ProgressEvent(1, ti.task_id, "finish", done=1, total=1, message=f"{seconds:.2f}s")
        elif ti.state in (*FAILED_TASK_STATES, "up_for_retry"):
            event = ProgressEvent(1, ti.task_id, "log", message=f"Airflow task state: {ti.state}")
        else:
            return
        self.progress.emit(event)

    def _follow_log(self, ti: TaskInstanceInfo) -> None:
        key = (ti.task_id, ti.try_number)
        try:
            lines = self.client.task_log(self.run_id, ti.task_id, ti.try_number)
        except LakehouseError as exc:  # a log that cannot be read yet does not stop the run
            logger.debug("no log for %s try %s yet: %s", ti.task_id, ti.try_number, exc)
            return
        for line in lines[self.seen_lines.get(key, 0):]:
            if LOG_PREFIX in line:
                text = line.split(LOG_PREFIX, 1)[1].strip().removeprefix(ti.task_id).strip()
                if FAILED_MARK in text:  # the step's own failure line: its cause, first
                    self.errors.setdefault(ti.task_id, []).insert(0, text.split(FAILED_MARK, 1)[1].strip())
            elif line.startswith(("ERROR", "CRITICAL")):
                text = line
                self.errors.setdefault(ti.task_id, []).append(line)
            else:
                continue
            self.progress.emit(ProgressEvent(1, ti.task_id, "log", message=text))
        self.seen_lines[key] = len(lines)

    def failure(self) -> str:
        """``<task> failed: <its error line>`` of the failed task (the step's own cause when it
        logged one, else Airflow's last error line)."""
        for task, state in self.states.items():
            if state == "failed":
                lines = self.errors.get(task) or ["(no error line in its log)"]
                return f"{task} failed: {lines[0]}"
        return "the DAG run failed"


class AirflowPhaseRunner(StackPhaseRunner):
    """StackPhaseRunner whose phase 1 is a run of the Airflow DAG."""

    def __init__(
        self,
        settings: LakehouseSettings,
        client: NessieClient,
        sql_engine: SqlEngine,
        *,
        airflow: AirflowClient,
        catalog: CatalogBrowser | None = None,
        metrics: PipelineMetrics | None = None,
        poll_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, client, sql_engine, catalog=catalog, metrics=metrics)
        self.airflow = airflow
        self._poll_s = poll_s
        self._sleep = sleep

    def plan(self, phase: int) -> PhasePlan:
        if phase != 1:
            return super().plan(phase)
        details = (
            f"runs as Airflow DAG {self.airflow.dag_id} on {self.settings.airflow.url}",
            *phase1_details(self.settings),
        )
        return phase_plan(1, phase1_steps(), details)

    def _run(self, phase: int, progress: ProgressSink, cancel: CancelToken | None) -> PhaseResult:
        if phase != 1:
            return super()._run(phase, progress, cancel)
        from lakehouse_core.budget import phase1_raw_bytes, phase_budget
        from lakehouse_core.pipeline.raw import will_generate

        # before any work, as a local phase 1: a budget or a disk that cannot do the run fails in one line
        generates = will_generate(self.paths, self.settings.generate)
        phase_budget(self.settings, phase1_raw_bytes(self.settings, generates))
        run_id = new_run_id()
        manifests = RunManifests(self.paths, Redactor.for_settings(self.settings))
        self.paths.raw.mkdir(parents=True, exist_ok=True)
        with manifests.tracking(run_id, 1, run_source=self.settings.run_source, orchestrator="airflow"):
            return self._run_dag(run_id, manifests, progress, cancel)

    def dag_conf(self, run_id: str) -> dict[str, Any]:
        """The DAG run's conf for phase-1 run ``run_id`` (the DAG's params)."""
        s = self.settings
        return {
            "run_id": run_id,
            "owner_pid": os.getpid(),
            "data_dir": s.airflow.data_dir or str(s.data_path),
            "orders": s.orders,
            "seed": s.seed,
            "defect_rate": s.defect_rate,
            "generate": s.generate,
            "auto_publish": s.auto_publish,
        }

    def _run_dag(
        self, run_id: str, manifests: RunManifests, progress: ProgressSink, cancel: CancelToken | None
    ) -> PhaseResult:
        started, t0 = datetime.now(UTC), time.perf_counter()
        dag_run = self.airflow.trigger(self.dag_conf(run_id))
        manifests.update(run_id, dag_run_id=dag_run.run_id)
        progress.emit(ProgressEvent(1, "dag_run", "log", message=f"Airflow DAG run {dag_run.run_id}"))
        order = tuple(step.name for step in phase1_steps())
        follower = DagRunFollower(self.airflow, dag_run.run_id, progress, order)
        unreachable_since: float | None = None
        while True:
            if cancel is not None and cancel.cancelled:
                self.airflow.fail_run(dag_run.run_id)
                raise CancelledError(f"phase 1 cancelled: Airflow DAG run {dag_run.run_id} marked failed")
            try:
                state = self.airflow.dag_run(dag_run.run_id).state
                follower.poll()
                unreachable_since = None
            except ServiceUnavailableError:
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since > OUTAGE_GRACE_S:
                    raise
                state = "unknown"
            if state in TERMINAL_RUN_STATES:
                break
            self._sleep(self._poll_s)
        instances = follower.poll()  # the last states and log lines
        tasks = self._task_results(dag_run.run_id, instances)
        if state == "success":
            return summarize(1, tasks, run_id=run_id, started=started, t0=t0)
        error = follower.failure()
        partial = summarize(1, tasks, run_id=run_id, started=started, t0=t0, error=error)
        raise PhaseFailed(1, error, partial)

    def _task_results(self, dag_run_id: str, instances: list[TaskInstanceInfo]) -> list[TaskResult]:
        """The succeeded steps' results (their XComs), in the phase's step order."""
        by_task = {ti.task_id: ti for ti in instances}
        results = []
        for step in phase1_steps():
            ti = by_task.get(step.name)
            if ti is None or ti.state != "success":
                continue
            value = self.airflow.xcom(dag_run_id, step.name) or {}
            results.append(
                TaskResult(
                    step.name,
                    float(value.get("seconds") or ti.duration_s or 0.0),
                    rows={str(k): int(v) for k, v in (value.get("rows") or {}).items()},
                    detail=str(value.get("detail", "")),
                )
            )
        return results
