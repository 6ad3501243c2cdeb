"""StackPhaseRunner: the four phases against the real services.

1. the six seed tasks on ``settings.data_path`` (same functions as embedded mode);
2. promote every layer into Iceberg tables on MinIO through Nessie's Iceberg REST catalog, on the
   Nessie branch ``settings.nessie.ref`` (created from the default branch when missing);
3. the seed business queries + time travel through the given SqlEngine (Dremio or DuckDB fallback);
4. pipeline metrics into a registry, table freshness from Nessie, alerts, and Prometheus target health.

Results persist as one JSON per phase under ``data/runs`` (lakehouse_core.runs.RunStore, the format
the embedded runner uses).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from lakehouse_core.backends.embedded.phases import ICEBERG_LAYOUT, promote_step
from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
from lakehouse_core.backends.stack.iceberg_rest import (
    open_rest_catalog,
    rest_catalog_uri,
    rest_warehouse,
)
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import LakehouseError, ServiceUnavailableError
from lakehouse_core.models import PhasePlan, PhaseResult, TaskResult, TaskSpec
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.phases.definitions import (
    PHASE4_TASKS,
    PHASE_TITLES,
    Step,
    execute_phase1,
    phase1_plan,
    phase3_plan,
    phase3_steps,
    phase4_steps,
    run_steps,
)
from lakehouse_core.phases.runner import PersistentPhaseRunner
from lakehouse_core.ports import CancelToken, CatalogBrowser, ProgressSink, SqlEngine
from lakehouse_core.runs import new_run_id
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

PROMETHEUS_STEP = TaskSpec("prometheus_targets", "read scrape-target health from Prometheus")


def prometheus_targets(settings: LakehouseSettings) -> dict[str, Any]:
    """``{"up": n, "down": n, "targets": [{job, instance, health, error}]}`` from Prometheus.

    A dead Prometheus is reported as ``{"unavailable": cause}``, never raised.
    """
    client = HttpClient("prometheus", settings.prometheus.url, timeout_s=settings.http_timeout_s)
    try:
        body = client.get_json("/api/v1/targets", params={"state": "active"})
    except ServiceUnavailableError as exc:
        return {"unavailable": exc.cause}
    finally:
        client.close()
    targets = [
        {
            "job": str(t.get("labels", {}).get("job", "")),
            "instance": str(t.get("labels", {}).get("instance", "")),
            "health": str(t.get("health", "unknown")),
            "error": str(t.get("lastError", "")),
        }
        for t in (body.get("data") or {}).get("activeTargets", [])
    ]
    up = sum(1 for t in targets if t["health"] == "up")
    return {"up": up, "down": len(targets) - up, "targets": targets}


class StackPhaseRunner(PersistentPhaseRunner):
    """Runs phases 1-4 against Nessie/MinIO (+ Dremio or DuckDB for SQL); one phase at a time."""

    def __init__(
        self,
        settings: LakehouseSettings,
        client: NessieClient,
        sql_engine: SqlEngine,
        *,
        catalog: CatalogBrowser | None = None,
        metrics: PipelineMetrics | None = None,
    ) -> None:
        super().__init__(settings, metrics)
        self._client = client
        self._sql = sql_engine
        self._catalog = catalog or NessieCatalogBrowser(settings, client)

    @property
    def branch(self) -> str:
        """The Nessie branch phase 2 writes."""
        return self.settings.nessie.ref

    # ------------------------------------------------------------ plans
    def plan(self, phase: int) -> PhasePlan:
        """Exactly what ``run(phase)`` will do (branch, catalog endpoint, bucket, engine)."""
        if phase == 1:
            return phase1_plan(self.settings)
        if phase == 2:
            return PhasePlan(
                2,
                PHASE_TITLES[2],
                (
                    TaskSpec(
                        "ensure_branch",
                        f"use Nessie branch {self.branch!r} (create it from the default branch when missing)",
                    ),
                    TaskSpec("promote_to_iceberg", "load each layer's Parquet into its Iceberg table"),
                ),
                (
                    f"nessie branch: {self.branch}",
                    f"catalog: Iceberg REST {rest_catalog_uri(self.settings, self.branch)}",
                    f"warehouse: {self._warehouse()} on {self.settings.minio.endpoint}",
                    f"source: {self.paths.root}",
                    *(f"{name}: {spec}" for name, spec in ICEBERG_LAYOUT),
                ),
            )
        if phase == 3:
            return phase3_plan(self._sql)
        if phase == 4:
            return PhasePlan(
                4,
                PHASE_TITLES[4],
                (*PHASE4_TASKS, PROMETHEUS_STEP),
                (
                    f"table freshness from Nessie ref {self.branch}",
                    f"prometheus: {self.settings.prometheus.url}",
                ),
            )
        raise LakehouseError(f"no phase {phase}: phases are 1, 2, 3 and 4", title="Unknown phase")

    def _warehouse(self) -> str:
        try:
            return rest_warehouse(self.settings, self.branch) or "(not reported by Nessie)"
        except LakehouseError as exc:
            fallback = f"s3://{self.settings.minio.warehouse_bucket}"
            return f"{fallback} (from settings; Nessie: {exc})"

    # ------------------------------------------------------------ run
    def _run(self, phase: int, progress: ProgressSink, cancel: CancelToken | None) -> PhaseResult:
        run_id = new_run_id()
        if phase == 1:
            return execute_phase1(self.settings, run_id=run_id, progress=progress, cancel=cancel)
        if phase == 2:
            steps = [self._branch_step(), promote_step(self._open_write_catalog, self.paths)]
        elif phase == 3:
            steps = phase3_steps(self._sql, self._catalog)
        else:
            steps = [
                *phase4_steps(self._metrics, self._catalog, self.last_results),
                Step(PROMETHEUS_STEP.name, PROMETHEUS_STEP.description, self._prometheus_step),
            ]
        return run_steps(phase, steps, run_id=run_id, progress=progress, cancel=cancel)

    def _branch_step(self) -> Step:
        def ensure_branch() -> TaskResult:
            t0 = time.perf_counter()
            ref, created = self._client.ensure_branch(self.branch, self._client.default_branch)
            verb = "created from " + self._client.default_branch if created else "exists"
            return TaskResult(
                "ensure_branch",
                time.perf_counter() - t0,
                outputs={"branch": ref.name, "branch_hash": ref.hash, "branch_created": created},
                detail=f"branch {ref.name} {verb} at {ref.hash[:12]}",
            )

        return Step("ensure_branch", "use (or create) the Nessie branch phase 2 writes", ensure_branch)

    def _open_write_catalog(self) -> Any:
        return open_rest_catalog(self.settings, self.branch)

    def _prometheus_step(self) -> TaskResult:
        t0 = time.perf_counter()
        health = prometheus_targets(self.settings)
        detail = (
            f"prometheus unavailable: {health['unavailable']}"
            if "unavailable" in health
            else f"{health['up']} targets up, {health['down']} down"
        )
        return TaskResult(
            PROMETHEUS_STEP.name, time.perf_counter() - t0, outputs={"prometheus": health}, detail=detail
        )
