"""What the four phases are: their titles, the steps each runs (name, description, work) and the
details their plans show. A plan lists the steps a run executes, so the two cannot disagree.

1. the platform's six pipeline tasks (raw CSV -> bronze -> quality -> silver -> gold -> KPIs);
2. promote every layer into Iceberg tables (the layout comes from ``iceberg/tables.py``);
3. the business queries and a time-travel count through any SqlEngine;
4. pipeline metrics into a PipelineMetrics registry, table freshness from the catalog, the alerts.

Backends add what differs (phase 2's catalog and branch, phase 4's extra sources): see
``lakehouse_core.phases.runner``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import AsOf, PhasePlan, PhaseResult, QueryResult, SnapshotRef, TableRef, TaskSpec
from lakehouse_core.observability import TABLE_STATS_OUTPUT, PipelineMetrics, memory_alert
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.engine import Step, StepFn, StepOutput, run_steps
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, CatalogBrowser, ProgressSink, SqlEngine
from lakehouse_core.queries import BUSINESS_QUERIES, TIME_TRAVEL_SQL
from lakehouse_core.settings import LakehouseSettings

PHASE_TITLES = {
    1: "Phase 1 - ETL pipeline: raw CSV -> bronze -> silver -> gold",
    2: "Phase 2 - promote every layer into Iceberg tables",
    3: "Phase 3 - business queries and time travel",
    4: "Phase 4 - monitoring: collect metrics, evaluate alerts",
}


def phase_plan(phase: int, steps: Sequence[Step], details: Sequence[str]) -> PhasePlan:
    """The plan of ``phase``: its title, the tasks of ``steps`` and ``details``."""
    return PhasePlan(phase, PHASE_TITLES[phase], tuple(s.spec for s in steps), tuple(details))


# ---------------------------------------------------------------- phase 1
def phase1_steps() -> list[Step]:
    """The platform's six pipeline tasks, then the audit and the publication of the run directory."""
    from lakehouse_core.phases.wap import PHASE1_WAP_STEPS
    from lakehouse_core.pipeline.tasks import PHASE1_TASKS

    tasks: tuple[tuple[str, str, StepFn], ...] = (*PHASE1_TASKS, *PHASE1_WAP_STEPS)
    return [Step(name, desc, fn) for name, desc, fn in tasks]


def phase1_details(settings: LakehouseSettings) -> tuple[str, ...]:
    """What a phase-1 run with ``settings`` reads (raw files, sizes) or generates (sizes, seed, defect
    rate) and replaces, the bronze checks' ranges and the data directory."""
    from lakehouse_core.budget import plan_line
    from lakehouse_core.pipeline.generate import sizes_for
    from lakehouse_core.pipeline.raw import raw_plan

    customers, products = sizes_for(settings.orders)
    generated = (f"{settings.orders:,} orders (customers {customers:,}, products {products:,}), "
                 f"seed {settings.seed}, defect rate {settings.defect_rate:g}")
    checks = settings.bronze
    return (
        *raw_plan(DataPaths(settings.data_path), settings.generate, generated),
        f"bronze accepts quantities {checks.quantity_min:,}..{checks.quantity_max:,}, "
        f"dates {checks.date_min} to {checks.latest_date()}",
        f"data dir: {settings.data_path} (outputs in runs/<run id>/, published as data/current)",
        "incremental: " + ("only raw files the published run has not seen (by content hash), upserted by key"
                           if settings.incremental else "off: every run rebuilds from every raw file"),
        "publish: " + ("when the audits pass" if settings.auto_publish else "waits for `lakehouse publish`"),
        plan_line(settings),
    )


def run_phase1(
    settings: LakehouseSettings,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> PhaseResult:
    """Run the pipeline tasks into run ``run_id``'s directory in this process, audit it and publish it
    (``settings.auto_publish``); the run's manifest records each outcome."""
    from lakehouse_core.budget import phase1_raw_bytes, phase_budget, use_budget
    from lakehouse_core.pipeline.raw import will_generate
    from lakehouse_core.redact import Redactor
    from lakehouse_core.runlog import RunManifests

    root = DataPaths(settings.data_path)
    # before any work: a budget, or a disk, that cannot do the run fails in one line
    budget = phase_budget(settings, phase1_raw_bytes(settings, will_generate(root, settings.generate)))
    root.raw.mkdir(parents=True, exist_ok=True)
    paths = root.for_run(run_id).ensure()
    with use_budget(budget), RunManifests(root, Redactor.for_settings(settings)).tracking(run_id, 1):
        return run_steps(
            1,
            phase1_steps(),
            run_id=run_id,
            progress=progress,
            cancel=cancel,
            kwargs=phase1_kwargs(settings, paths),
        )


def phase1_kwargs(settings: LakehouseSettings, paths: DataPaths) -> dict[str, Any]:
    """The arguments phase 1's steps are called with (each takes those it accepts) for a run whose
    directory is ``paths``."""
    return {
        "paths": paths,
        "orders": settings.orders,
        "seed": settings.seed,
        "defect_rate": settings.defect_rate,
        "generate": settings.generate,
        "incremental": settings.incremental,
        "checks": settings.bronze,
        "auto_publish": settings.auto_publish,
        "keep_runs": settings.runs_keep,
    }


# ---------------------------------------------------------------- phase 2
def promote_step(open_catalog: Callable[[], Any], paths: DataPaths, branch: str | None = None) -> Step:
    """Phase 2's promotion: every layer into its Iceberg table of ``open_catalog()``."""

    def promote(run_id: str, progress: ProgressSink, cancel: CancelToken | None) -> StepOutput:
        from lakehouse_core.iceberg.promote import promote_all
        from lakehouse_core.iceberg.tables import TABLES
        from lakehouse_core.pipeline.parts import table_rows

        snapshots: list[SnapshotRef] = promote_all(
            open_catalog(), paths, run_id=run_id, progress=progress, cancel=cancel, branch=branch
        )
        rows = {d.identifier: table_rows(d.source_path(paths)) for d in TABLES}
        return StepOutput(
            rows=rows, outputs={"snapshots": snapshots}, detail=f"{len(snapshots)} tables committed"
        )

    return Step(
        "promote_to_iceberg", "load each layer's Parquet into its Iceberg table (one commit each)", promote
    )


def iceberg_layout() -> tuple[str, ...]:
    """``"<table>: <partition spec>"`` of every lakehouse table, rendered from ``iceberg/tables.py``."""
    from lakehouse_core.iceberg import tables

    lines = []
    for table in tables.TABLES:
        schema = table.schema
        fields = table.partition_spec.fields
        spec = ", ".join(f"{f.transform}({schema.find_column_name(f.source_id)})" for f in fields)
        lines.append(f"{table.identifier}: {spec or 'unpartitioned'}")
    return tuple(lines)


# ---------------------------------------------------------------- phase 3
TIME_TRAVEL_DESCRIPTION = "COUNT(*) of bronze.orders as of an older snapshot"


def _result_payload(result: QueryResult, max_rows: int = 50) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "columns": list(result.columns),
        "rows": [[_plain(v) for v in row] for row in result.tuples(max_rows)],
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

        def run_query(q: Any = query) -> StepOutput:
            result = sql.execute(q.sql, limit=1000)
            return StepOutput(
                outputs={q.key: _result_payload(result)},
                detail=f"{result.row_count} rows via {result.engine}",
            )

        steps.append(Step(query.key, query.title, run_query))

    def time_travel() -> StepOutput:
        snaps = catalog.snapshots(TableRef(("bronze",), "orders"))
        if not snaps:
            raise LakehouseError("bronze.orders has no snapshot yet: run phase 2 first")
        older = snaps[0] if len(snaps) == 1 else snaps[-2]
        then = sql.execute(TIME_TRAVEL_SQL, as_of=AsOf(snapshot_id=older.snapshot_id))
        now = sql.execute(TIME_TRAVEL_SQL)
        payload = {
            "snapshot_id": older.snapshot_id,
            "committed_at": older.committed_at.isoformat(),
            "count_then": _plain(then.tuples(1)[0][0]),
            "count_now": _plain(now.tuples(1)[0][0]),
        }
        return StepOutput(
            outputs={"time_travel": payload},
            detail=f"{payload['count_then']} rows at snapshot {older.snapshot_id}, "
            f"{payload['count_now']} now",
        )

    steps.append(Step("time_travel", TIME_TRAVEL_DESCRIPTION, time_travel))
    return steps


def phase3_details(sql: SqlEngine) -> tuple[str, ...]:
    return (f"engine: {sql.name}",)


# ---------------------------------------------------------------- phase 4
PHASE4_TASKS = (
    TaskSpec("record_runs", "load the last result of phases 1-3 into the metrics registry"),
    TaskSpec("table_freshness", "read every table's last commit time from the catalog"),
    TaskSpec("sample_process", "sample process CPU and memory with every pipeline series"),
    TaskSpec("evaluate_alerts", "evaluate the memory alert (> 4 GB for 5 min)"),
)


def phase4_steps(
    metrics: PipelineMetrics,
    catalog: CatalogBrowser,
    last_results: Callable[[], Mapping[int, PhaseResult]],
) -> list[Step]:
    """Collect pipeline metrics into ``metrics`` and evaluate the alerts."""

    def record_runs() -> StepOutput:
        results = last_results()
        for result in results.values():
            metrics.record_phase(result)
        return StepOutput(detail=f"phases {sorted(results)}")

    def table_freshness() -> StepOutput:
        now = time.time()
        stats = record_table_stats(metrics, catalog)
        fresh = {name: round(now - t["committed_at"], 1) for name, t in stats.items()}
        return StepOutput(
            outputs={"freshness_s": fresh, TABLE_STATS_OUTPUT: stats}, detail=f"{len(fresh)} tables"
        )

    def sample_process() -> StepOutput:
        sample = metrics.sample()
        wanted = ("process_resident_memory_bytes", "process_cpu_seconds_total")
        proc = {name: value for (name, _labels), value in sample.values.items() if name in wanted}
        return StepOutput(outputs={"process": proc}, detail=f"{len(sample.values)} series")

    def evaluate_alerts() -> StepOutput:
        alert = memory_alert(metrics.history())
        payload = {
            "name": alert.name,
            "state": alert.state,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
        }
        return StepOutput(outputs={"alerts": [payload]}, detail=f"{alert.name}: {alert.state}")

    fns: dict[str, Callable[[], StepOutput]] = {
        "record_runs": record_runs,
        "table_freshness": table_freshness,
        "sample_process": sample_process,
        "evaluate_alerts": evaluate_alerts,
    }
    return [Step(spec.name, spec.description, fns[spec.name]) for spec in PHASE4_TASKS]


def _summary_int(summary: Mapping[str, str], key: str) -> int:
    try:
        return int(summary.get(key) or 0)
    except ValueError:
        return 0


def record_table_stats(metrics: PipelineMetrics, catalog: CatalogBrowser) -> dict[str, dict[str, Any]]:
    """Record every table's last commit time (unix seconds), snapshot count and current data files in
    ``metrics``; return them by table (``PipelineMetrics.record_table``'s arguments)."""
    stats: dict[str, dict[str, Any]] = {}
    for ns in catalog.list_namespaces():
        for table in catalog.list_tables(ns):
            snaps = catalog.snapshots(table)
            if snaps:
                current = snaps[-1]
                stats[table.identifier] = {
                    "committed_at": current.committed_at.timestamp(),
                    "snapshots": len(snaps),
                    "data_files": _summary_int(current.summary, "total-data-files"),
                }
                metrics.record_table(table.identifier, **stats[table.identifier])
    return stats


def record_table_commits(metrics: PipelineMetrics, catalog: CatalogBrowser) -> dict[str, float]:
    """Record every table's last commit time (unix seconds) in ``metrics``; return them by table."""
    return {name: t["committed_at"] for name, t in record_table_stats(metrics, catalog).items()}
