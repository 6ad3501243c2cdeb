"""Building blocks shared by every PhaseRunner: task execution with timing, progress and cancellation,
phase 1 (the six seed tasks) and phase 3 (the business queries through any SqlEngine)."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse_core.errors import CancelledError, LakehouseError, PhaseFailed
from lakehouse_core.models import (
    AsOf,
    PhasePlan,
    PhaseResult,
    ProgressEvent,
    QueryResult,
    SnapshotRef,
    TableRef,
    TaskResult,
    TaskSpec,
)
from lakehouse_core.paths import DataPaths
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, CatalogBrowser, ProgressSink, SqlEngine
from lakehouse_core.queries import BUSINESS_QUERIES, TIME_TRAVEL_SQL
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

PHASE_TITLES = {
    1: "Phase 1 - ETL pipeline: raw CSV -> bronze -> silver -> gold",
    2: "Phase 2 - promote every layer into Iceberg tables",
    3: "Phase 3 - business queries and time travel",
    4: "Phase 4 - monitoring: collect metrics, evaluate alerts",
}


@dataclass(frozen=True)
class Step:
    """One task of a phase: a name, a description and a callable returning a TaskResult."""

    name: str
    description: str
    fn: Callable[..., TaskResult]


def call_with(fn: Callable[..., Any], *args: Any, **available: Any) -> Any:
    """Call ``fn`` passing only the keyword arguments its signature accepts."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(*args, **available)
    return fn(*args, **{k: v for k, v in available.items() if k in params})


def run_steps(
    phase: int,
    steps: Sequence[Step],
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> PhaseResult:
    """Run ``steps`` in order; returns an ok PhaseResult or raises PhaseFailed/CancelledError.

    Each step is called with the keyword arguments of ``kwargs`` it accepts (plus progress, cancel).
    """
    started, t0 = datetime.now(UTC), time.perf_counter()
    done: list[TaskResult] = []
    available = {**(kwargs or {}), "progress": progress, "cancel": cancel, "run_id": run_id}
    for step in steps:
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress.emit(ProgressEvent(phase, step.name, "start", message=step.description))
        s0 = time.perf_counter()
        try:
            result = call_with(step.fn, **available)
        except CancelledError:
            progress.emit(ProgressEvent(phase, step.name, "log", message="cancelled"))
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes PhaseFailed with partial results
            logger.warning("phase %s task %s failed: %s", phase, step.name, exc)
            progress.emit(ProgressEvent(phase, step.name, "log", message=f"FAILED: {exc}"))
            partial = summarize(phase, done, run_id=run_id, started=started, t0=t0, error=str(exc))
            raise PhaseFailed(phase, exc if isinstance(exc, LakehouseError) else repr(exc), partial) from exc
        if not isinstance(result, TaskResult):
            result = TaskResult(step.name, time.perf_counter() - s0)
        done.append(result)
        progress.emit(
            ProgressEvent(phase, step.name, "finish", done=1, total=1, message=f"{result.seconds:.2f}s")
        )
    return summarize(phase, done, run_id=run_id, started=started, t0=t0)


def summarize(
    phase: int,
    tasks: Sequence[TaskResult],
    *,
    run_id: str,
    started: datetime,
    t0: float,
    error: str | None = None,
) -> PhaseResult:
    """Fold task results into a PhaseResult (rows per layer, quality failures, snapshots, outputs)."""
    rows: dict[str, int] = {}
    outputs: dict[str, Any] = {}
    snapshots: list[SnapshotRef] = []
    quality_failures = 0
    for task in tasks:
        for key, value in task.rows.items():
            rows[key] = int(value)
            if key.startswith("quarantine"):
                quality_failures += int(value)
        for key, value in task.outputs.items():
            if key == "snapshots":
                snapshots.extend(v for v in value if isinstance(v, SnapshotRef))
            else:
                outputs[f"{task.name}.{key}" if key in outputs else key] = value
    return PhaseResult(
        phase=phase,
        ok=error is None,
        run_id=run_id,
        started_at=started,
        seconds=time.perf_counter() - t0,
        tasks=tuple(tasks),
        rows_per_layer=rows,
        quality_failures=quality_failures,
        snapshots=tuple(snapshots),
        outputs=outputs,
        error=error,
    )


# ---------------------------------------------------------------- phase 1
def phase1_steps() -> list[Step]:
    """The six seed tasks, in order."""
    from lakehouse_core.pipeline.tasks import PHASE1_TASKS

    return [Step(name, desc, fn) for name, desc, fn in PHASE1_TASKS]


def phase1_plan(settings: LakehouseSettings) -> PhasePlan:
    """What phase 1 will do with these settings."""
    return PhasePlan(
        phase=1,
        title=PHASE_TITLES[1],
        tasks=tuple(TaskSpec(s.name, s.description) for s in phase1_steps()),
        details=(
            f"orders: {settings.orders:,} (customers {settings.orders // 5:,}, "
            f"products {max(200, settings.orders // 25):,}), seed {settings.seed}, "
            f"defect rate {settings.defect_rate:g}",
            f"data dir: {settings.data_path}",
        ),
    )


def run_phase1(
    settings: LakehouseSettings,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> PhaseResult:
    """Run the six seed tasks on ``settings.data_path``."""
    paths = DataPaths(settings.data_path).ensure()
    return run_steps(
        1,
        phase1_steps(),
        run_id=run_id,
        progress=progress,
        cancel=cancel,
        kwargs={
            "paths": paths,
            "orders": settings.orders,
            "seed": settings.seed,
            "defect_rate": settings.defect_rate,
        },
    )


def execute_phase1(
    settings: LakehouseSettings,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> PhaseResult:
    """Run phase 1 where ``settings.phase_isolation`` says: a child process (default) or this thread."""
    if settings.phase_isolation == "process":
        from lakehouse_core.phases.isolation import run_isolated

        return run_isolated(run_phase1, settings, 1, run_id=run_id, progress=progress, cancel=cancel)
    return run_phase1(settings, run_id=run_id, progress=progress, cancel=cancel)


# ---------------------------------------------------------------- phase 3
def _result_payload(result: QueryResult, max_rows: int = 50) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "columns": list(result.columns),
        "rows": [[_plain(v) for v in row] for row in result.rows[:max_rows]],
        "row_count": result.row_count,
        "elapsed_s": round(result.elapsed_s, 4),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def phase3_steps(sql: SqlEngine, catalog: CatalogBrowser) -> list[Step]:
    """One step per business query, then the time-travel count of bronze.orders."""
    steps: list[Step] = []
    for query in BUSINESS_QUERIES:

        def run_query(q: Any = query) -> TaskResult:
            t0 = time.perf_counter()
            result = sql.execute(q.sql, limit=1000)
            return TaskResult(
                q.key,
                time.perf_counter() - t0,
                outputs={q.key: _result_payload(result)},
                detail=f"{result.row_count} rows via {result.engine}",
            )

        steps.append(Step(query.key, query.title, run_query))

    def time_travel() -> TaskResult:
        t0 = time.perf_counter()
        snaps = catalog.snapshots(TableRef(("bronze",), "orders"))
        if not snaps:
            raise LakehouseError("bronze.orders has no snapshot yet: run phase 2 first")
        older = snaps[0] if len(snaps) == 1 else snaps[-2]
        then = sql.execute(TIME_TRAVEL_SQL, as_of=AsOf(snapshot_id=older.snapshot_id))
        now = sql.execute(TIME_TRAVEL_SQL)
        payload = {
            "snapshot_id": older.snapshot_id,
            "committed_at": older.committed_at.isoformat(),
            "count_then": _plain(then.rows[0][0]),
            "count_now": _plain(now.rows[0][0]),
        }
        return TaskResult(
            "time_travel",
            time.perf_counter() - t0,
            outputs={"time_travel": payload},
            detail=f"{payload['count_then']} rows at snapshot {older.snapshot_id}, "
            f"{payload['count_now']} now",
        )

    steps.append(Step("time_travel", "COUNT(*) of bronze.orders as of an older snapshot", time_travel))
    return steps


def phase3_plan(sql: SqlEngine) -> PhasePlan:
    """What phase 3 will run."""
    return PhasePlan(
        phase=3,
        title=PHASE_TITLES[3],
        tasks=(
            *(TaskSpec(q.key, q.title) for q in BUSINESS_QUERIES),
            TaskSpec("time_travel", "COUNT(*) of bronze.orders as of an older snapshot"),
        ),
        details=(f"engine: {sql.name}",),
    )


# ---------------------------------------------------------------- phase 4
PHASE4_TASKS = (
    TaskSpec("record_runs", "load the last result of phases 1-3 into the metrics registry"),
    TaskSpec("table_freshness", "read every table's last commit time from the catalog"),
    TaskSpec("sample_process", "sample process CPU and memory with every pipeline series"),
    TaskSpec("evaluate_alerts", "evaluate the memory alert (> 4 GB for 5 min)"),
)


def phase4_steps(
    metrics: Any,
    catalog: CatalogBrowser,
    last_results: Callable[[], Mapping[int, PhaseResult]],
    exporter_url: str | None = None,
) -> list[Step]:
    """Collect pipeline metrics into ``metrics`` (a PipelineMetrics) and evaluate the alerts."""
    from lakehouse_core.observability import memory_alert

    def record_runs() -> TaskResult:
        t0 = time.perf_counter()
        results = last_results()
        for result in results.values():
            metrics.record_phase(result)
        return TaskResult("record_runs", time.perf_counter() - t0, detail=f"phases {sorted(results)}")

    def table_freshness() -> TaskResult:
        t0 = time.perf_counter()
        now = time.time()
        commits = record_table_commits(metrics, catalog)
        fresh = {name: round(now - ts, 1) for name, ts in commits.items()}
        return TaskResult(
            "table_freshness",
            time.perf_counter() - t0,
            outputs={"freshness_s": fresh},
            detail=f"{len(fresh)} tables",
        )

    def sample_process() -> TaskResult:
        t0 = time.perf_counter()
        sample = metrics.sample()
        wanted = ("process_resident_memory_bytes", "process_cpu_seconds_total")
        proc = {name: value for (name, _labels), value in sample.values.items() if name in wanted}
        return TaskResult(
            "sample_process",
            time.perf_counter() - t0,
            outputs={"process": proc},
            detail=f"{len(sample.values)} series",
        )

    def evaluate_alerts() -> TaskResult:
        t0 = time.perf_counter()
        alert = memory_alert(metrics.history())
        payload = [
            {
                "name": alert.name,
                "state": alert.state,
                "value": alert.value,
                "threshold": alert.threshold,
                "message": alert.message,
            }
        ]
        outputs: dict[str, Any] = {"alerts": payload}
        if exporter_url:
            outputs["exporter"] = exporter_url
        return TaskResult(
            "evaluate_alerts",
            time.perf_counter() - t0,
            outputs=outputs,
            detail=f"{alert.name}: {alert.state}",
        )

    fns = {
        "record_runs": record_runs,
        "table_freshness": table_freshness,
        "sample_process": sample_process,
        "evaluate_alerts": evaluate_alerts,
    }
    return [Step(spec.name, spec.description, fns[spec.name]) for spec in PHASE4_TASKS]


def record_table_commits(metrics: Any, catalog: CatalogBrowser) -> dict[str, float]:
    """Record every table's last commit time (unix seconds) in ``metrics``; return them by table."""
    commits: dict[str, float] = {}
    for ns in catalog.list_namespaces():
        for table in catalog.list_tables(ns):
            snaps = catalog.snapshots(table)
            if snaps:
                commits[table.identifier] = snaps[-1].committed_at.timestamp()
                metrics.record_commit(table.identifier, commits[table.identifier])
    return commits


def phase4_plan(where: str) -> PhasePlan:
    """What phase 4 will do."""
    return PhasePlan(phase=4, title=PHASE_TITLES[4], tasks=PHASE4_TASKS, details=(where,))
