"""Contract suite for CatalogBrowser, SqlEngine, MetricsSource and ServiceStatusProvider.

Every test runs on each implementation (see conftest): the same assertions hold in embedded and stack mode.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from lakehouse_core.errors import NotFoundError, QueryError
from lakehouse_core.models import AsOf, ServiceState, TableRef
from lakehouse_core.ports import Backend, CatalogBrowser, MetricsSource, ServiceStatusProvider, SqlEngine

ORDERS = TableRef(("bronze",), "orders")


def test_protocols_are_implemented(backend: Backend) -> None:
    assert isinstance(backend.catalog, CatalogBrowser)
    assert isinstance(backend.sql, SqlEngine)
    assert isinstance(backend.metrics, MetricsSource)
    assert isinstance(backend.status, ServiceStatusProvider)


# ---------------------------------------------------------------- CatalogBrowser
def test_namespaces_and_tables(backend: Backend) -> None:
    namespaces = backend.catalog.list_namespaces()
    assert {("bronze",), ("silver",), ("gold",)} <= set(namespaces)
    names = {t.name for t in backend.catalog.list_tables(("bronze",))}
    assert names == {"customers", "orders", "products"}
    gold = {t.name for t in backend.catalog.list_tables(("gold",))}
    assert gold == {"daily_sales", "customer_metrics", "product_performance", "regional_sales"}


def test_table_detail_partition_specs(backend: Backend) -> None:
    detail = backend.catalog.table_detail(ORDERS)
    assert [(p.source, p.transform) for p in detail.partition_spec] == [("order_date", "day")]
    assert detail.row_count == 5000
    silver = backend.catalog.table_detail(TableRef(("silver",), "orders_enriched"))
    assert [(p.source, p.transform) for p in silver.partition_spec] == [
        ("order_year", "identity"),
        ("order_month", "identity"),
    ]
    assert backend.catalog.table_detail(TableRef(("bronze",), "customers")).partition_spec == ()


def test_snapshots_files_partitions_reconcile(backend: Backend) -> None:
    snaps = backend.catalog.snapshots(ORDERS)
    assert snaps and [s.committed_at for s in snaps] == sorted(s.committed_at for s in snaps)
    assert snaps[-1].total_rows == 5000
    assert sum(p.record_count for p in backend.catalog.partition_stats(ORDERS)) == 5000
    files = backend.catalog.files(ORDERS)
    assert sum(f.record_count for f in files) == 5000 and all(
        f.file_format.upper() == "PARQUET" for f in files
    )
    history = backend.catalog.schema_history(ORDERS)
    assert history[-1].is_current and "order_date" in {f.name for f in history[-1].fields}


def test_preview_and_missing_table(backend: Backend) -> None:
    preview = backend.catalog.preview(ORDERS, limit=5)
    assert preview.row_count == 5 and "order_id" in preview.columns
    with pytest.raises(NotFoundError):
        backend.catalog.table_detail(TableRef(("bronze",), "no_such_table"))


def test_scan_plan_prunes_to_one_file(backend: Backend) -> None:
    day = backend.sql.execute(
        "SELECT MIN(order_date) FROM bronze.orders WHERE order_date IS NOT NULL"
    ).tuples()[0][0]
    plan = backend.catalog.scan_plan(ORDERS, f"order_date = '{day}'")
    assert plan.files_scanned == 1 and plan.files_total > 1


def test_diff_of_a_snapshot_with_itself_is_empty(backend: Backend) -> None:
    snap = backend.catalog.snapshots(ORDERS)[-1].snapshot_id
    diff = backend.catalog.diff_snapshots(ORDERS, snap, snap)
    assert (diff.added_count, diff.removed_count) == (0, 0)


# ---------------------------------------------------------------- SqlEngine
def test_sql_counts_match_catalog(sql_backend: Backend) -> None:
    result = sql_backend.sql.execute("SELECT COUNT(*) AS n FROM gold.daily_sales")
    detail = sql_backend.catalog.table_detail(TableRef(("gold",), "daily_sales"))
    assert result.columns == ("n",) and result.tuples()[0][0] == detail.row_count > 0
    assert result.engine == sql_backend.sql.name


def test_sql_limit_truncates_and_says_so(sql_backend: Backend) -> None:
    result = sql_backend.sql.execute("SELECT order_id FROM bronze.orders", limit=10)
    assert result.row_count == 10 and result.truncated
    full = sql_backend.sql.execute("SELECT order_id FROM bronze.orders WHERE order_id < 0", limit=10)
    assert not full.truncated


def test_sql_result_is_arrow_with_the_engines_types(sql_backend: Backend) -> None:
    result = sql_backend.sql.execute(
        "SELECT order_id, order_date, status FROM bronze.orders WHERE order_date IS NOT NULL", limit=3
    )
    schema = result.table.schema
    assert isinstance(result.table, pa.Table) and result.table.num_rows == result.row_count == 3
    assert tuple(schema.names) == result.columns == ("order_id", "order_date", "status")
    assert len(result.types) == 3
    assert pa.types.is_integer(schema.field("order_id").type)
    assert pa.types.is_date(schema.field("order_date").type)
    assert pa.types.is_string(schema.field("status").type) or pa.types.is_large_string(
        schema.field("status").type
    )


def test_sql_first_page_comes_from_the_one_execution(sql_backend: Backend) -> None:
    sql = (
        "SELECT a.order_id AS a_id, b.order_id AS b_id FROM bronze.orders a CROSS JOIN bronze.orders b "
        "WHERE b.order_id <= 4 ORDER BY a_id, b_id"
    )
    pages: list = []
    result = sql_backend.sql.execute(sql, limit=100_000, on_first_page=pages.append)
    assert result.row_count == 20_000 and not result.truncated
    assert len(pages) == 1  # the engine reads 20,000 rows in more than one batch or page
    first = pages[0]
    assert first.truncated and 0 < first.row_count < result.row_count and first.columns == result.columns
    assert first.table.equals(result.table.slice(0, first.row_count))
    quiet: list = []
    sql_backend.sql.execute("SELECT COUNT(*) AS n FROM bronze.orders", on_first_page=quiet.append)
    assert quiet == []


def test_sql_error_carries_engine_message(sql_backend: Backend) -> None:
    with pytest.raises(QueryError) as info:
        sql_backend.sql.execute("SELECT no_such_column FROM bronze.orders")
    assert "no_such_column" in str(info.value)


def test_sql_as_of_snapshot(sql_backend: Backend) -> None:
    snaps = sql_backend.catalog.snapshots(ORDERS)
    result = sql_backend.sql.execute(
        "SELECT COUNT(*) FROM bronze.orders", as_of=AsOf(snapshot_id=snaps[0].snapshot_id)
    )
    assert result.tuples()[0][0] == snaps[0].total_rows


def test_sql_refuses_writes(sql_backend: Backend) -> None:
    with pytest.raises(QueryError, match="read-only"):
        sql_backend.sql.execute("DELETE FROM bronze.orders WHERE order_id > 0")
    assert sql_backend.sql.execute("SELECT COUNT(*) FROM bronze.orders").tuples()[0][0] == 5000


# ---------------------------------------------------------------- MetricsSource
def test_metrics_panels_instant_range_alerts(backend: Backend) -> None:
    panels = backend.metrics.panels()
    assert len({p.panel_id for p in panels}) == len(panels) > 0
    memory = next(p for p in panels if p.panel_id == "memory")
    assert memory.warn == 4e9
    now = backend.metrics.instant(memory.query)
    assert now and all(s.last is not None and s.last > 0 for s in now)
    series = backend.metrics.range(memory.query, window=timedelta(minutes=5), step=timedelta(seconds=1))
    assert series and all(s.points for s in series)
    alerts = backend.metrics.alerts()
    assert any(a.name == "HighMemoryUsage" and a.state in ("ok", "pending", "firing") for a in alerts)


# ---------------------------------------------------------------- ServiceStatusProvider
def test_statuses_are_well_formed(backend: Backend) -> None:
    statuses = backend.status.statuses()
    names = [s.name for s in statuses]
    assert len(names) == len(set(names)) > 0
    for s in statuses:
        assert isinstance(s.state, ServiceState)
        if s.state is ServiceState.BLOCKED:
            assert s.blocked_by in s.depends_on
        if s.state is ServiceState.DOWN:
            assert s.last_error
        if s.state is ServiceState.UP:
            assert s.latency_ms is not None and s.latency_ms >= 0
