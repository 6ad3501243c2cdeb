"""Catalog-agnostic Iceberg operations: time travel, evolution, stats, pruning, diff, refs."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pyiceberg.types import StringType

from lakehouse_core.errors import ConflictError, NotFoundError
from lakehouse_core.iceberg import ops
from lakehouse_core.iceberg.promote import append_table, overwrite_from_parquet
from lakehouse_core.iceberg.tables import table_def
from tests.core.iceberg_fixtures import orders, promoted, write_orders


def _append_extra(catalog, tmp_path: Path, n: int = 5, first_id: int = 1000) -> int:
    time.sleep(0.005)  # distinct commit milliseconds
    path = write_orders(tmp_path / f"extra-{first_id}.parquet", orders(1, n, first_id=first_id))
    return append_table(catalog, "bronze.orders", path, "extra").snapshot_id


def test_time_travel_by_snapshot_returns_the_older_count(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    s1 = table.current_snapshot().snapshot_id
    s2 = _append_extra(catalog, tmp_path)
    table.refresh()
    assert ops.read_as_of(table, snapshot_id=s1).num_rows == 60
    assert ops.read_as_of(table, snapshot_id=s2).num_rows == 65
    assert ops.read_as_of(table).num_rows == 65
    with pytest.raises(NotFoundError, match="snapshot 12345"):
        ops.read_as_of(table, snapshot_id=12345)


def test_time_travel_by_timestamp(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    first = ops.snapshot_info(table.current_snapshot())
    _append_extra(catalog, tmp_path)
    table.refresh()
    second = ops.snapshot_info(table.current_snapshot())
    assert second.committed_at > first.committed_at
    assert ops.read_as_of(table, timestamp=first.committed_at).num_rows == 60
    assert ops.read_as_of(table, timestamp=second.committed_at).num_rows == 65
    naive = first.committed_at.replace(tzinfo=None)  # naive datetimes are UTC
    assert ops.read_as_of(table, timestamp=naive).num_rows == 60
    before = ops.read_as_of(table, timestamp=first.committed_at - timedelta(seconds=1))
    assert before.num_rows == 0 and before.column_names[0] == "order_id"


def test_add_column_keeps_old_reads_and_shows_in_history(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    s1 = table.current_snapshot().snapshot_id
    new_id = ops.add_column(table, "channel", "string", "sales channel")
    assert new_id == 1
    assert table.schema().find_field("channel").field_type == StringType()
    assert table.schema().find_field("channel").field_id == 12
    current = ops.read_as_of(table)
    assert current.num_rows == 60 and set(current.column("channel").to_pylist()) == {None}
    old = ops.read_as_of(table, snapshot_id=s1)
    assert old.num_rows == 60 and "channel" not in old.column_names
    history = ops.schema_versions(table)
    assert [(v.schema_id, v.is_current) for v in history] == [(0, False), (1, True)]
    assert [f.name for f in history[1].fields][-1] == "channel"
    assert history[1].fields[-1].doc == "sales channel"
    with pytest.raises(ConflictError):
        ops.add_column(table, "channel", "string")


def test_partition_stats_sum_to_the_row_count(tmp_path: Path) -> None:
    catalog, fx = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    stats = ops.partition_stats(table)
    assert len(stats) == fx.days
    assert stats[0].partition == "order_date_day=2024-03-01"
    assert sum(s.record_count for s in stats) == 60
    assert all(s.record_count == 3 and s.file_count == 1 and s.size_bytes > 0 for s in stats)
    silver = ops.partition_stats(catalog.load_table("silver.orders_enriched"))
    assert [(s.partition, s.record_count) for s in silver] == [
        ("order_year=2024/order_month=3", len(fx.rows["silver.orders_enriched"]))
    ]
    gold = ops.partition_stats(catalog.load_table("gold.daily_sales"))
    assert [(s.partition, s.record_count) for s in gold] == [("", 20)]


def test_files_list(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    files = ops.data_files(catalog.load_table("bronze.orders"))
    assert len(files) == 20
    assert sum(f.record_count for f in files) == 60
    assert files[0].file_format == "PARQUET" and files[0].path.endswith(".parquet")
    assert "order_date_day=2024-03-01" in files[0].path


def test_scan_plan_one_day_prunes_to_one_file(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    plan = ops.scan_plan(table, "order_date = '2024-03-05'", name="bronze.orders")
    assert plan.table == "bronze.orders"
    assert (plan.files_total, plan.files_scanned, plan.rows_scanned) == (20, 1, 3)
    week = ops.scan_plan(table, "order_date >= '2024-03-14'")
    assert (week.files_scanned, week.rows_scanned) == (7, 21)
    everything = ops.scan_plan(table, "quantity > 0")
    assert everything.files_scanned == 20


def test_diff_after_append_counts_only_new_rows(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    s1 = table.current_snapshot().snapshot_id
    s2 = _append_extra(catalog, tmp_path, n=5)
    table.refresh()
    diff = ops.diff_snapshots(table, s1, s2, sample=3)
    assert (diff.added_count, diff.removed_count) == (5, 0)
    assert [row[0] for row in diff.added_sample] == [1000, 1001, 1002]
    assert diff.columns[0] == "order_id" and diff.removed_sample == ()
    back = ops.diff_snapshots(table, s2, s1)
    assert (back.added_count, back.removed_count) == (0, 5)


def test_diff_after_overwrite_compares_full_rows(tmp_path: Path) -> None:
    catalog, fx = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    s1 = table.current_snapshot().snapshot_id
    rows = [dict(r) for r in fx.rows["bronze.orders"] if r["order_id"] not in (1, 2)]
    rows[0]["quantity"] += 10  # order 3 changed: one removed + one added
    rows += orders(1, 2, first_id=500)
    changed = write_orders(tmp_path / "changed.parquet", rows)
    s2 = overwrite_from_parquet(
        table, table_def("bronze.orders"), changed, properties={"lakehouse.run-id": "x"}
    ).snapshot_id
    table.refresh()
    diff = ops.diff_snapshots(table, s1, s2, sample=10)
    assert (diff.added_count, diff.removed_count) == (3, 3)
    assert [r[0] for r in diff.removed_sample] == [1, 2, 3]
    assert [r[0] for r in diff.added_sample] == [3, 500, 501]
    qty = diff.columns.index("quantity")
    assert diff.added_sample[0][qty] == diff.removed_sample[2][qty] + 10
    assert isinstance(diff.added_sample[0][diff.columns.index("total_amount")], Decimal)


def test_create_refs_and_list_them(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    table = catalog.load_table("bronze.orders")
    s1 = table.current_snapshot().snapshot_id
    _append_extra(catalog, tmp_path)
    table.refresh()
    tag = ops.create_ref(table, "v1", "tag", snapshot_id=s1, identifier="bronze.orders")
    branch = ops.create_ref(table, "dev", "branch", identifier="bronze.orders")
    assert (tag.kind, tag.hash, tag.table) == ("tag", str(s1), "bronze.orders")
    assert branch.hash == str(table.current_snapshot().snapshot_id)
    names = [(r.name, r.kind, r.is_default) for r in ops.ref_infos(table, "bronze.orders")]
    assert names == [("main", "branch", True), ("dev", "branch", False), ("v1", "tag", False)]
    assert ops.read_as_of(table, ref="v1").num_rows == 60
    with pytest.raises(ConflictError):
        ops.create_ref(table, "v1", "tag")
    with pytest.raises(NotFoundError):
        ops.create_ref(table, "v2", "tag", snapshot_id=999)
    with pytest.raises(NotFoundError, match="ref 'nope'"):
        ops.read_as_of(table, ref="nope")


def test_load_table_missing_raises_not_found(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path)
    with pytest.raises(NotFoundError, match="bronze.nope"):
        ops.load_table(catalog, "bronze.nope")
    with pytest.raises(NotFoundError, match="nons.orders"):
        ops.load_table(catalog, "nons.orders")
