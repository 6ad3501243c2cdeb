"""StackPhaseRunner: the four phases against the real services.

1. the platform's six pipeline tasks on ``settings.data_path`` (same functions as embedded mode);
2. promote every layer into Iceberg tables on MinIO through Nessie's Iceberg REST catalog: written on
   a run branch ``run-<id>`` from ``settings.nessie.ref`` (created from the default branch when
   missing), audited, then merged into it in one commit (``backends/stack/publish.py``);
3. the business queries + time travel through the given SqlEngine (Dremio or DuckDB fallback);
4. pipeline metrics into a registry, table freshness from Nessie, alerts, and Prometheus target health.

Results persist as one JSON per phase under ``data/runs`` (lakehouse_core.runs.RunStore, the format
the embedded runner uses).
"""

from __future__ import annotations

import logging
from typing import Any

from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
from lakehouse_core.backends.stack.iceberg_rest import (
    rest_catalog_uri,
    rest_warehouse,
)
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.backends.stack.publish import StackRunPublisher, run_branch
from lakehouse_core.errors import LakehouseError, ServiceUnavailableError
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.phases import PersistentPhaseRunner, Step, StepOutput, iceberg_layout
from lakehouse_core.phases.lock import RunLock
from lakehouse_core.ports import CatalogBrowser, SqlEngine
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)


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
        super().__init__(
            settings,
            sql=sql_engine,
            catalog=catalog or NessieCatalogBrowser(settings, client),
            metrics=metrics,
            publisher=StackRunPublisher(settings, client),
        )
        self._client = client

    @property
    def branch(self) -> str:
        """The Nessie branch phase 2 writes."""
        return self.settings.nessie.ref

    def run_locks(self, phase: int) -> list[RunLock]:
        """The Nessie branch's run lock (a lock file under the data dir: per machine), and the data
        dir's for phase 1, which writes it."""
        branch = RunLock.for_key(self.settings.data_path, f"nessie-{self.branch}")
        return [branch, *super().run_locks(phase)] if phase == 1 else [branch]

    # ------------------------------------------------------------ phase 2
    def phase2_steps(self) -> list[Step]:
        return [self._branch_step(), *self.wap_phase2_steps()]

    def phase2_details(self) -> tuple[str, ...]:
        return (
            f"nessie branch: {self.branch}",
            f"written on the run branch {run_branch('<run id>')}, merged into {self.branch} in one commit",
            f"catalog: Iceberg REST {rest_catalog_uri(self.settings, self.branch)}",
            f"warehouse: {self._warehouse()} on {self.settings.minio.endpoint}",
            f"source: {self.paths.root}",
            *iceberg_layout(),
        )

    def _warehouse(self) -> str:
        try:
            return rest_warehouse(self.settings, self.branch) or "(not reported by Nessie)"
        except LakehouseError as exc:
            fallback = f"s3://{self.settings.minio.warehouse_bucket}"
            return f"{fallback} (from settings; Nessie: {exc})"

    def _branch_step(self) -> Step:
        def ensure_branch() -> StepOutput:
            ref, created = self._client.ensure_branch(self.branch, self._client.default_branch)
            verb = "created from " + self._client.default_branch if created else "exists"
            return StepOutput(
                outputs={"branch": ref.name, "branch_hash": ref.hash, "branch_created": created},
                detail=f"branch {ref.name} {verb} at {ref.hash[:12]}",
            )

        return Step(
            "ensure_branch",
            f"use Nessie branch {self.branch!r} (create it from the default branch when missing)",
            ensure_branch,
        )

    # ------------------------------------------------------------ phase 4
    def phase4_extra_steps(self) -> list[Step]:
        return [Step("prometheus_targets", "read scrape-target health from Prometheus", self._targets)]

    def phase4_details(self) -> tuple[str, ...]:
        return (
            f"table freshness from Nessie ref {self.branch}",
            f"prometheus: {self.settings.prometheus.url}",
        )

    def _targets(self) -> StepOutput:
        health = prometheus_targets(self.settings)
        detail = (
            f"prometheus unavailable: {health['unavailable']}"
            if "unavailable" in health
            else f"{health['up']} targets up, {health['down']} down"
        )
        return StepOutput(outputs={"prometheus": health}, detail=detail)
