"""EmbeddedPhaseRunner: the four phases in-process (DuckDB pipeline, pyiceberg SqlCatalog, DuckDB SQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakehouse_core.backends.embedded.publish import EmbeddedRunPublisher
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.phases import PersistentPhaseRunner, Step, iceberg_layout
from lakehouse_core.ports import CatalogBrowser, SqlEngine
from lakehouse_core.settings import LakehouseSettings


class EmbeddedPhaseRunner(PersistentPhaseRunner):
    """Runs phases 1-4 in this process; phase 2 writes the local SQLite catalog and warehouse."""

    def __init__(
        self,
        settings: LakehouseSettings,
        *,
        open_catalog: Callable[[], Any],
        catalog: CatalogBrowser,
        sql: SqlEngine,
        metrics: PipelineMetrics,
    ) -> None:
        super().__init__(
            settings,
            sql=sql,
            catalog=catalog,
            metrics=metrics,
            publisher=EmbeddedRunPublisher(settings, open_catalog),
        )
        self._open_catalog = open_catalog

    def phase2_steps(self) -> list[Step]:
        return self.wap_phase2_steps()

    def phase2_details(self) -> tuple[str, ...]:
        return (
            f"catalog: {self.settings.catalog_url}",
            f"warehouse: {self.settings.warehouse_uri}",
            "tables staged, audited, then published in one catalog transaction"
            + ("" if self.settings.auto_publish else " by `lakehouse publish`"),
            *iceberg_layout(),
        )

    def phase4_details(self) -> tuple[str, ...]:
        return ("registry: in-process prometheus_client (served by `lakehouse exporter`)",)
