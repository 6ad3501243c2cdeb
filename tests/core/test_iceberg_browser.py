"""IcebergCatalogBrowser: every CatalogBrowser method on a promoted fixture catalog."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lakehouse_core.errors import ConflictError, LakehouseError, NotFoundError
from lakehouse_core.iceberg import ops
from lakehouse_core.iceberg.browser import IcebergCatalogBrowser
from lakehouse_core.iceberg.promote import RUN_ID_PROPERTY, append_table, promote_all
from lakehouse_core.models import PartitionFieldInfo, TableRef
from lakehouse_core.ports import CatalogBrowser
from tests.core.iceberg_fixtures import orders, promoted, write_orders

ORDERS = TableRef(("bronze",), "orders")
MISSING = TableRef(("bronze",), "nope")


@pytest.fixture()
def setup(tmp_path: Path):
    catalog, fx = promoted(tmp_path, run_id="run-1")
    time.sleep(0.005)
    extra = write_orders(tmp_path / "extra.parquet", orders(1, 4, first_id=900))
    append_table(catalog, ORDERS, extra, "run-2")
    return IcebergCatalogBrowser(catalog), catalog, fx


def test_satisfies_the_protocol(setup) -> None:
    browser, _, _ = setup
    assert isinstance(browser, CatalogBrowser)


def test_namespaces_and_tables(setup) -> None:
    browser, _, _ = setup
    assert browser.list_namespaces() == [("bronze",), ("gold",), ("silver",)]
    assert [t.identifier for t in browser.list_tables(("bronze",))] == [
        "bronze.customers", "bronze.orders", "bronze.products",
    ]
    assert [t.name for t in browser.list_tables(("gold",))] == [
        "customer_metrics", "daily_sales", "product_performance", "regional_sales",
    ]
    with pytest.raises(NotFoundError, match="namespace platinum"):
        browser.list_tables(("platinum",))


def test_table_detail(setup) -> None:
    browser, catalog, _ = setup
    detail = browser.table_detail(ORDERS)
    table = catalog.load_table("bronze.orders")
    assert detail.table == ORDERS
    assert detail.current_snapshot_id == table.current_snapshot().snapshot_id
    assert detail.row_count == 64
    assert detail.format_version == 2
    assert detail.partition_spec == (PartitionFieldInfo("order_date", "day", "order_date_day"),)
    assert [f.name for f in detail.fields][:3] == ["order_id", "customer_id", "product_id"]
    assert detail.fields[5].type == "decimal(12, 2)"
    assert detail.metadata_location == table.metadata_location
    assert detail.location.endswith("bronze/orders")
    with pytest.raises(NotFoundError, match="bronze.nope"):
        browser.table_detail(MISSING)


def test_snapshots_oldest_first_with_summaries(setup) -> None:
    browser, _, _ = setup
    snaps = browser.snapshots(ORDERS)
    assert [s.operation for s in snaps] == ["append", "append"]
    assert snaps[1].parent_id == snaps[0].snapshot_id
    assert snaps[0].committed_at <= snaps[1].committed_at
    assert [s.summary[RUN_ID_PROPERTY] for s in snaps] == ["run-1", "run-2"]
    assert [(s.added_rows, s.total_rows) for s in snaps] == [(60, 60), (4, 64)]
    with pytest.raises(NotFoundError):
        browser.snapshots(MISSING)


def test_schema_history_after_add_column(setup) -> None:
    browser, catalog, _ = setup
    ops.add_column(catalog.load_table("bronze.orders"), "channel", "string")
    history = browser.schema_history(ORDERS)
    assert [(v.schema_id, v.is_current, len(v.fields)) for v in history] == [(0, False, 11), (1, True, 12)]


def test_partition_stats_and_files(setup) -> None:
    browser, _, _ = setup
    snaps = browser.snapshots(ORDERS)
    stats = browser.partition_stats(ORDERS)
    assert sum(s.record_count for s in stats) == 64
    assert len(stats) == 20  # the 4 extra orders fall on 2024-03-01: a second file in that partition
    assert stats[0].partition == "order_date_day=2024-03-01"
    assert (stats[0].record_count, stats[0].file_count) == (7, 2)
    old_stats = browser.partition_stats(ORDERS, snapshot_id=snaps[0].snapshot_id)
    assert sum(s.record_count for s in old_stats) == 60 and len(old_stats) == 20
    files = browser.files(ORDERS)
    assert len(files) == 21 and sum(f.record_count for f in files) == 64
    assert len(browser.files(ORDERS, snapshot_id=snaps[0].snapshot_id)) == 20
    with pytest.raises(NotFoundError, match="snapshot 42"):
        browser.files(ORDERS, snapshot_id=42)
    with pytest.raises(NotFoundError):
        browser.partition_stats(MISSING)


def test_preview_current_and_as_of_snapshot(setup) -> None:
    browser, _, _ = setup
    snaps = browser.snapshots(ORDERS)
    current = browser.preview(ORDERS, limit=1000)
    assert current.row_count == 64 and not current.truncated
    assert current.columns[0] == "order_id" and current.types[0] == "int64"
    old = browser.preview(ORDERS, snapshot_id=snaps[0].snapshot_id, limit=1000)
    assert old.row_count == 60 and 900 not in {r[0] for r in old.tuples()}
    cut = browser.preview(ORDERS, limit=10)
    assert cut.row_count == 10 and cut.truncated
    with pytest.raises(NotFoundError, match="snapshot 7"):
        browser.preview(ORDERS, snapshot_id=7)


def test_diff_snapshots(setup) -> None:
    browser, _, _ = setup
    snaps = browser.snapshots(ORDERS)
    diff = browser.diff_snapshots(ORDERS, snaps[0].snapshot_id, snaps[1].snapshot_id, sample=2)
    assert (diff.table, diff.added_count, diff.removed_count) == ("bronze.orders", 4, 0)
    assert [r[0] for r in diff.added_sample] == [900, 901]
    with pytest.raises(NotFoundError):
        browser.diff_snapshots(ORDERS, snaps[0].snapshot_id, 1)


def test_scan_plan(setup) -> None:
    browser, _, _ = setup
    plan = browser.scan_plan(ORDERS, "order_date = '2024-03-10'")
    assert plan.table == "bronze.orders"
    assert (plan.files_total, plan.files_scanned, plan.rows_scanned) == (21, 1, 3)
    with pytest.raises(LakehouseError, match="invalid filter"):
        browser.scan_plan(ORDERS, "no_such_column = 1")
    with pytest.raises(NotFoundError):
        browser.scan_plan(MISSING, "x = 1")


def test_create_ref_visible_in_list_refs(setup) -> None:
    browser, catalog, _ = setup
    snaps = browser.snapshots(ORDERS)
    tag = browser.create_ref("v1", "tag", table=ORDERS, snapshot_id=snaps[0].snapshot_id)
    branch = browser.create_ref("dev", "branch", table=ORDERS, from_ref="v1")
    assert (tag.kind, tag.hash, tag.table) == ("tag", str(snaps[0].snapshot_id), "bronze.orders")
    assert branch.hash == str(snaps[0].snapshot_id)
    refs = browser.list_refs(ORDERS)
    assert [(r.name, r.kind) for r in refs] == [("main", "branch"), ("dev", "branch"), ("v1", "tag")]
    everything = browser.list_refs()
    assert len([r for r in everything if r.name == "main"]) == 8
    assert {(r.table, r.name) for r in everything if r.name != "main"} == {
        ("bronze.orders", "dev"), ("bronze.orders", "v1"),
    }
    # ref-scoped views
    assert browser.preview(ORDERS, ref="v1", limit=1000).row_count == 60
    assert browser.table_detail(ORDERS, ref="v1").row_count == 60
    assert [s.snapshot_id for s in browser.snapshots(ORDERS, ref="dev")] == [snaps[0].snapshot_id]
    with pytest.raises(ConflictError):
        browser.create_ref("v1", "tag", table=ORDERS)
    with pytest.raises(NotFoundError, match="snapshot 5"):
        browser.create_ref("v2", "tag", table=ORDERS, snapshot_id=5)
    with pytest.raises(NotFoundError, match="ref 'ghost'"):
        browser.files(ORDERS, ref="ghost")
    with pytest.raises(LakehouseError, match="choose a table"):
        browser.create_ref("x", "branch")


def test_promote_to_branch_shows_in_refs(setup) -> None:
    browser, catalog, fx = setup
    promote_all(catalog, fx.paths, run_id="run-3", branch="staging")
    staging = [r for r in browser.list_refs() if r.name == "staging"]
    assert len(staging) == 8 and all(r.kind == "branch" for r in staging)
    assert browser.table_detail(ORDERS, ref="staging").row_count == 60
    assert browser.table_detail(ORDERS).row_count == 64
