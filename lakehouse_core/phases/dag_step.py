"""Phase 1 one step at a time, each in its own process: what the Airflow DAG
``ecommerce_etl_pipeline`` (``compose/airflow/dags``) calls from its tasks.

A DAG run is one phase-1 run: every task works in the run directory ``runs/<run id>/`` of the data
dir and runs exactly the step of ``phases.definitions.phase1_steps`` it is named after, with the
same arguments ``run_phase1`` passes. The steps hand each other nothing but files, so running them
in separate processes gives the outputs of a run in one process.

The run's configuration is the DAG run's conf (``Phase1Conf``). When ``AirflowPhaseRunner`` triggers
the run it passes its run id and its pid: it owns the run's manifest (begun and finished by it, as
``run_phase1`` does), and holds the run locks. A run triggered in Airflow itself (its UI, a schedule)
gets its run id from the DAG run, and its tasks record the manifest: begun by the first step that
runs, finished ``failed`` by ``fail_phase1_run`` (the DAG's failure callback).

Two runs never interleave (``phases.lock``): a step of a run with an owner runs only while that owner
holds the data dir's run lock; a step of a run started in Airflow itself holds the lock while it runs
and fails at once, in one line naming the holder, when another run (a CLI or TUI run) holds it. Such a
run also fails when another run was published between its steps: its outputs would be built on a
published run that is no longer the current one, so nothing of it is published.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse_core.budget import phase_budget, use_budget
from lakehouse_core.errors import BusyError
from lakehouse_core.models import ProgressEvent
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.definitions import phase1_kwargs, phase1_steps
from lakehouse_core.phases.engine import run_steps
from lakehouse_core.phases.lock import RunLock, read_holder
from lakehouse_core.publish import current_run
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import LakehouseSettings, load_settings

logger = logging.getLogger("lakehouse_core.phase1")

LOG_PREFIX = "lakehouse:"
"""Every progress line a step logs starts with this (the runner picks them out of the task log)."""


@dataclass(frozen=True)
class Phase1Conf:
    """A DAG run's configuration (its ``conf``, the DAG's params); empty values keep the settings'."""

    run_id: str = ""
    data_dir: str = ""
    orders: int | None = None
    seed: int | None = None
    defect_rate: float | None = None
    generate: str = ""
    auto_publish: bool | None = None
    owner_pid: int = 0
    """The pid of the process that owns the run's manifest (0: the tasks record it)."""

    @classmethod
    def from_mapping(cls, conf: Mapping[str, Any]) -> Phase1Conf:
        known = {name: conf[name] for name in cls.__dataclass_fields__ if conf.get(name) not in (None, "")}
        return cls(**known)

    def settings(self) -> LakehouseSettings:
        """The settings of the environment with this conf's values on top."""
        overrides: dict[str, object] = {"run_source": "airflow", "phase_isolation": "thread"}
        if self.data_dir:
            overrides["data_dir"] = Path(self.data_dir)
        for name in ("orders", "seed", "defect_rate", "auto_publish"):
            if getattr(self, name) is not None:
                overrides[name] = getattr(self, name)
        if self.generate:
            overrides["generate"] = self.generate
        return load_settings(**overrides)


def dag_run_phase1_id(dag_run_id: str, run_after: datetime | None) -> str:
    """The phase-1 run id of a DAG run started in Airflow: shaped like ``runs.new_run_id`` (sortable
    by start), the same in every task of the DAG run."""
    when = (run_after or datetime.now(UTC)).astimezone(UTC)
    digest = hashlib.sha1(dag_run_id.encode()).hexdigest()[:8]
    return f"{when:%Y%m%dT%H%M%SZ}-{digest}"


class LoggingProgress:
    """A ProgressSink writing each event as one log line (Airflow keeps it in the task's log)."""

    def emit(self, event: ProgressEvent) -> None:
        if event.kind == "advance" or not event.message:
            return  # per-chunk progress would flood the task log
        logger.info("%s %s %s: %s", LOG_PREFIX, event.task, event.kind, event.message)


DATA_DIR_LOCK = "data-dir"
"""The data dir's run lock (``phases.runner.LocalPhaseRunner.run_locks``): every phase-1 run holds it."""


@contextlib.contextmanager
def step_lock(data_path: Path, step_name: str, *, owner_pid: int, dag_run_id: str) -> Iterator[None]:
    """Hold the data dir's run lock for one step of a run started in Airflow; for a run with an owner,
    check that the owner holds it. BusyError (one line, naming the holder) otherwise."""
    lock = RunLock.for_key(data_path, DATA_DIR_LOCK)
    if not owner_pid:
        try:
            lock.acquire(f"Airflow DAG run {dag_run_id} ({step_name})")
        except BusyError as busy:  # the CLI's hint (--wait) means nothing to a task
            raise BusyError(str(busy).removesuffix("; use --wait to queue"), holder=busy.holder) from None
        try:
            yield
        finally:
            lock.release()
        return
    try:
        lock.acquire(f"check of {step_name}")
    except BusyError as busy:
        holder = read_holder(lock.path)
        if holder is None or holder.pid != owner_pid:
            raise BusyError(f"{step_name}: the run's owner pid {owner_pid} does not hold the data dir: "
                            f"{busy}", holder=busy.holder) from None
    else:
        lock.release()
        raise BusyError(f"{step_name}: the run's owner pid {owner_pid} no longer holds the data dir's run "
                        "lock (it ended or was killed): nothing more of this run runs")
    yield


def run_phase1_step(
    step_name: str,
    conf: Mapping[str, Any],
    *,
    dag_run_id: str = "",
    run_after: datetime | None = None,
) -> dict[str, Any]:
    """Run one phase-1 step of the run ``conf`` describes; return its TaskResult as plain JSON.

    Raises:
        PhaseFailed: the step failed (its cause is in the message and the log).
        KeyError: no phase-1 step is called ``step_name``.
    """
    steps = {step.name: step for step in phase1_steps()}
    step = steps[step_name]
    parsed = Phase1Conf.from_mapping(conf)
    settings = parsed.settings()
    run_id = parsed.run_id or dag_run_phase1_id(dag_run_id, run_after)
    root = DataPaths(settings.data_path)
    root.raw.mkdir(parents=True, exist_ok=True)
    with step_lock(settings.data_path, step_name, owner_pid=parsed.owner_pid, dag_run_id=dag_run_id):
        paths = root.for_run(run_id).ensure()
        manifests = RunManifests(root)
        if not manifests.exists(run_id):
            manifests.begin(run_id, 1, pid=parsed.owner_pid or _airflow_worker_pid(), run_source="airflow",
                            dag_run_id=dag_run_id, base_run=current_run(root))
        elif not parsed.owner_pid:
            _check_base(manifests.load(run_id), current_run(root), dag_run_id)
        logger.info("%s %s run %s in %s", LOG_PREFIX, step_name, run_id, paths.root)
        with use_budget(phase_budget(settings)):  # DuckDB's memory and threads, as in a local phase 1
            result = run_steps(
                1,
                [step],
                run_id=run_id,
                progress=LoggingProgress(),
                kwargs=phase1_kwargs(settings, paths),
            )
    task = result.tasks[0]
    if step_name == list(steps)[-1] and not parsed.owner_pid:
        if manifests.load(run_id).get("state") == "running":
            manifests.finish(run_id, "failed", "the run ended before its audits")
    return {
        "run_id": run_id,
        "task": task.name,
        "seconds": round(task.seconds, 3),
        "rows": dict(task.rows),
        "detail": task.detail,
    }


def _check_base(manifest: Mapping[str, Any], published: str | None, dag_run_id: str) -> None:
    """BusyError when another run was published since this DAG run's first step."""
    base = manifest.get("base_run")
    if published != base and published != manifest.get("run_id"):
        raise BusyError(f"run {published} was published while DAG run {dag_run_id} ran (it started on "
                        f"{base or 'nothing published'}): nothing of this run is published; trigger it again")


def fail_phase1_run(
    conf: Mapping[str, Any], error: str, *, dag_run_id: str = "", run_after: datetime | None = None
) -> None:
    """Record a DAG run's phase-1 run as failed (a task failed for good) unless its owner records it."""
    parsed = Phase1Conf.from_mapping(conf)
    if parsed.owner_pid:
        return
    root = DataPaths(parsed.settings().data_path)
    run_id = parsed.run_id or dag_run_phase1_id(dag_run_id, run_after)
    manifests = RunManifests(root)
    if manifests.exists(run_id) and manifests.load(run_id).get("state") == "running":
        manifests.finish(run_id, "failed", error)


def _airflow_worker_pid() -> int:
    """The long-lived executor process above this task (its parent's parent): a reader that finds the
    manifest ``running`` with that pid gone marks the run interrupted."""
    try:
        import psutil

        parents = psutil.Process().parents()
        return parents[1].pid if len(parents) > 1 else os.getpid()
    except Exception:  # noqa: BLE001 - any psutil failure: this process is still a right answer
        return os.getpid()


__all__ = ["LOG_PREFIX", "Phase1Conf", "dag_run_phase1_id", "fail_phase1_run", "run_phase1_step"]
