"""EmbeddedPhaseRunner: the four phases in-process (DuckDB pipeline, pyiceberg SqlCatalog, DuckDB SQL)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import PhasePlan, PhaseResult, SnapshotRef, TaskResult, TaskSpec
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.definitions import (
    PHASE_TITLES,
    Step,
    execute_phase1,
    phase1_plan,
    phase3_plan,
    phase3_steps,
    phase4_plan,
    phase4_steps,
    run_steps,
)
from lakehouse_core.phases.runner import PersistentPhaseRunner
from lakehouse_core.ports import CancelToken, CatalogBrowser, ProgressSink, SqlEngine
from lakehouse_core.runs import new_run_id
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

ICEBERG_LAYOUT = (
    ("bronze.customers", "unpartitioned"),
    ("bronze.products", "identity(category)"),
    ("bronze.orders", "day(order_date)"),
    ("silver.orders_enriched", "identity(order_year), identity(order_month)"),
    ("gold.daily_sales", "unpartitioned"),
    ("gold.customer_metrics", "unpartitioned"),
    ("gold.product_performance", "unpartitioned"),
    ("gold.regional_sales", "unpartitioned"),
)


def promote_step(open_catalog: Callable[[], Any], paths: DataPaths, branch: str | None = None) -> Step:
    """Phase 2's one step: promote every layer, one atomic commit per table."""

    def promote(run_id: str, progress: ProgressSink, cancel: CancelToken | None) -> TaskResult:
        from lakehouse_core.iceberg.promote import promote_all

        t0 = time.perf_counter()
        snapshots: list[SnapshotRef] = promote_all(
            open_catalog(), paths, run_id=run_id, progress=progress, cancel=cancel, branch=branch
        )
        import pyarrow.parquet as pq

        from lakehouse_core.iceberg.tables import TABLES

        rows = {d.identifier: pq.read_metadata(d.source_path(paths)).num_rows for d in TABLES}
        return TaskResult(
            "promote_to_iceberg",
            time.perf_counter() - t0,
            rows=rows,
            outputs={"snapshots": snapshots},
            detail=f"{len(snapshots)} tables committed",
        )

    return Step(
        "promote_to_iceberg", "load each layer's Parquet into its Iceberg table (one commit each)", promote
    )


class EmbeddedPhaseRunner(PersistentPhaseRunner):
    """Runs phases 1-4 in this process; one phase at a time; results persisted under data/runs."""

    def __init__(
        self,
        settings: LakehouseSettings,
        *,
        open_catalog: Callable[[], Any],
        catalog: CatalogBrowser,
        sql: SqlEngine,
        metrics: PipelineMetrics,
    ) -> None:
        super().__init__(settings, metrics)
        self._open_catalog = open_catalog
        self._catalog = catalog
        self._sql = sql

    def plan(self, phase: int) -> PhasePlan:
        if phase == 1:
            return phase1_plan(self.settings)
        if phase == 2:
            return PhasePlan(
                2,
                PHASE_TITLES[2],
                (TaskSpec("promote_to_iceberg", "load each layer's Parquet into its Iceberg table"),),
                (
                    f"catalog: {self.settings.catalog_url}",
                    f"warehouse: {self.settings.warehouse_uri}",
                    *(f"{name}: {spec}" for name, spec in ICEBERG_LAYOUT),
                ),
            )
        if phase == 3:
            return phase3_plan(self._sql)
        if phase == 4:
            return phase4_plan("registry: in-process prometheus_client (served by `lakehouse exporter`)")
        raise LakehouseError(f"no phase {phase}: phases are 1, 2, 3 and 4", title="Unknown phase")

    def _run(self, phase: int, progress: ProgressSink, cancel: CancelToken | None) -> PhaseResult:
        run_id = new_run_id()
        if phase == 1:
            return execute_phase1(self.settings, run_id=run_id, progress=progress, cancel=cancel)
        if phase == 2:
            steps = [promote_step(self._open_catalog, self.paths)]
        elif phase == 3:
            steps = phase3_steps(self._sql, self._catalog)
        else:
            steps = phase4_steps(self._metrics, self._catalog, self.last_results)
        return run_steps(phase, steps, run_id=run_id, progress=progress, cancel=cancel)
