"""The embedded backend: everything in-process (pyiceberg SqlCatalog on SQLite, DuckDB, prometheus_client)."""

from __future__ import annotations

import functools

from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.paths import DataPaths
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings


def build_embedded(settings: LakehouseSettings, *, metrics: PipelineMetrics | None = None) -> Backend:
    """Wire every embedded capability on ``settings.data_path``."""
    from lakehouse_core.backends.embedded.metrics import EmbeddedMetricsSource
    from lakehouse_core.backends.embedded.phases import EmbeddedPhaseRunner
    from lakehouse_core.backends.embedded.status import (
        EmbeddedServiceStatusProvider,
        data_dir_probe,
        warehouse_probe,
    )
    from lakehouse_core.engines.compare import EngineQueryComparer
    from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
    from lakehouse_core.iceberg.browser import IcebergCatalogBrowser
    from lakehouse_core.iceberg.catalog import open_embedded_catalog, open_embedded_reader
    from lakehouse_core.iceberg.maintenance import IcebergTableMaintenance
    from lakehouse_core.phases import record_table_stats

    paths = DataPaths(settings.data_path)  # nothing is created here: writers create what they write
    open_catalog = functools.cache(lambda: open_embedded_catalog(settings))  # writers: phase 2
    reader = open_embedded_reader(settings, open_catalog)  # browsing and SQL: creates nothing
    catalog = IcebergCatalogBrowser(reader)
    session = functools.partial(
        DuckDbSqlEngine, reader, query_timeout_s=settings.query_timeout_s,
        spool_dir=paths.spool, spool_bytes=int(settings.result_spool_mb * 2**20),
    )
    sql = session()  # users' session (SQL panel, `lakehouse sql`)
    metrics = metrics or PipelineMetrics(gold_freshness_limit_s=settings.prometheus.gold_freshness_limit_s)
    phases = EmbeddedPhaseRunner(  # phase 3 gets its own DuckDB session, which users never touch
        settings,
        open_catalog=open_catalog,
        catalog=catalog,
        sql=session(),
        metrics=metrics,
    )

    def catalog_probe() -> str:
        namespaces = catalog.list_namespaces()
        tables = sum(len(catalog.list_tables(ns)) for ns in namespaces)
        return f"{len(namespaces)} namespaces, {tables} tables"

    def sql_probe() -> str:
        result = sql.execute("SELECT 1 AS ok")
        return f"{result.engine} ok ({result.elapsed_s * 1000:.1f} ms)"

    def last_run_probe() -> str:
        results = phases.last_results()
        failed = [r for r in results.values() if not r.ok]
        if failed:
            raise RuntimeError(f"phase {failed[0].phase} failed: {failed[0].error}")
        return ", ".join(f"phase {p}: {r.seconds:.1f}s" for p, r in sorted(results.items())) or "no run yet"

    status = EmbeddedServiceStatusProvider(
        paths,
        {
            "data dir": (str(paths.root), (), data_dir_probe(paths)),
            "warehouse": (settings.warehouse_uri, (), warehouse_probe(settings.warehouse_uri)),
            "iceberg catalog": (settings.catalog_url, ("warehouse",), catalog_probe),
            "duckdb": ("in-process", ("iceberg catalog",), sql_probe),
            "metrics": ("in-process prometheus_client", (), lambda: f"{len(metrics.history())} samples"),
            "pipeline": ("phases 1-4", ("data dir",), last_run_probe),
        },
    )

    def warmup(registry: PipelineMetrics) -> None:
        """Fill the registry from the persisted results and the catalog (a fresh process starts empty)."""
        for result in phases.last_results().values():
            registry.record_phase(result)
        record_table_stats(registry, catalog)

    return Backend(
        mode="embedded",
        status=status,
        catalog=catalog,
        sql=sql,
        metrics=EmbeddedMetricsSource(
            metrics,
            interval_s=max(settings.tui.metrics_refresh_seconds, 1.0),
            warmup=warmup,
            gold_freshness_limit_s=settings.prometheus.gold_freshness_limit_s,
        ),
        phases=phases,
        maintenance=IcebergTableMaintenance(open_catalog, settings.maintenance, data_path=settings.data_path),
        runs=phases.runs,
        compare=EngineQueryComparer(sql),
    )
