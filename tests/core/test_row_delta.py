"""Merge-on-read upserts (``iceberg/row_delta.py``): position-delete files written by the lakehouse are
applied by pyiceberg scans and by DuckDB's ``iceberg_scan`` alike, survive time travel, and are
dropped by a full load and by compaction (the rows stay the same)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.iceberg.maintenance import maintain_table
from lakehouse_core.iceberg.promote import overwrite_from_parquet
from lakehouse_core.iceberg.staging import staged_entry
from lakehouse_core.iceberg.tables import table_def
from lakehouse_core.iceberg.upsert import TableChange, upsert_from_parquet
from lakehouse_core.settings import MaintenanceSettings
from tests.core.iceberg_fixtures import orders, promoted, write_orders

ORDERS = table_def("bronze.orders")


def _change(tmp: Path, name: str, added: list[dict[str, Any]], removed: list[dict[str, Any]]) -> TableChange:
    return TableChange(write_orders(tmp / f"{name}-added.parquet", added) if added else None,
                       write_orders(tmp / f"{name}-removed.parquet", removed) if removed else None)


def _pyiceberg_ids(table: Table, snapshot_id: int | None = None) -> list[int]:
    rows = table.scan(snapshot_id=snapshot_id).to_arrow()
    return sorted(rows.column("order_id").to_pylist())


def _duckdb_ids(catalog: SqlCatalog, *, extension: bool, as_of: str = "") -> list[int]:
    engine = DuckDbSqlEngine(catalog, use_extension=extension)
    try:
        assert engine.uses_iceberg_extension == extension
        result = engine.execute(f"SELECT order_id FROM bronze.orders {as_of} ORDER BY order_id")
        return [row[0] for row in result.tuples()]
    finally:
        engine.close()


def _readers_agree(catalog: SqlCatalog, table: Table, expected: list[int]) -> None:
    assert _pyiceberg_ids(table) == expected
    assert _duckdb_ids(catalog, extension=True) == expected  # iceberg_scan applies the position deletes
    assert _duckdb_ids(catalog, extension=False) == expected
    assert staged_entry(table)["rows"] == len(expected)  # records minus position deletes


def _summary(table: Table) -> dict[str, str]:
    snap = table.current_snapshot()
    assert snap is not None and snap.summary is not None
    return dict(snap.summary.additional_properties)


@pytest.fixture
def world(tmp_path: Path) -> tuple[SqlCatalog, Table, list[dict[str, Any]]]:
    catalog, fx = promoted(tmp_path / "lake", days=10, per_day=4)
    return catalog, catalog.load_table("bronze.orders"), fx.rows["bronze.orders"]


def test_position_deletes_are_applied_by_pyiceberg_and_duckdb(
    tmp_path: Path, world: tuple[SqlCatalog, Table, list[dict[str, Any]]]
) -> None:
    catalog, table, rows = world
    files_before = {t.file.file_path for t in table.scan().plan_files()}
    removed = [rows[1], rows[6], rows[17], rows[30]]  # four days
    added = orders(2, 2, first_id=9000)
    upsert_from_parquet(table, ORDERS, _change(tmp_path, "a", added, removed), properties={})
    first = table.current_snapshot()
    assert first is not None
    expected = sorted({r["order_id"] for r in rows} - {r["order_id"] for r in removed}
                      | {r["order_id"] for r in added})
    _readers_agree(catalog, table, expected)
    summary = _summary(table)
    assert summary["added-position-deletes"] == "4" and summary.get("deleted-data-files") is None
    assert {t.file.file_path for t in table.scan().plan_files()} >= files_before  # nothing rewritten
    with_deletes = [t for t in table.scan().plan_files() if t.delete_files]
    assert len(with_deletes) == 4

    # deletes on top of deletes: a row added by the last snapshot and another old row; a row already
    # deleted is not deleted twice
    more = [added[0], rows[2]]
    upsert_from_parquet(table, ORDERS, _change(tmp_path, "b", [], more), properties={})
    expected2 = sorted(set(expected) - {r["order_id"] for r in more})
    _readers_agree(catalog, table, expected2)
    assert _summary(table)["total-position-deletes"] == "6"

    # time travel to the first upsert still applies only its deletes, in both readers
    assert _pyiceberg_ids(table, first.snapshot_id) == expected
    as_of = f"VERSION AS OF {first.snapshot_id}"
    assert _duckdb_ids(catalog, extension=True, as_of=as_of) == expected


def test_compaction_applies_and_drops_the_delete_files(
    tmp_path: Path, world: tuple[SqlCatalog, Table, list[dict[str, Any]]]
) -> None:
    catalog, table, rows = world
    removed = [rows[0], rows[5], rows[9]]
    upsert_from_parquet(table, ORDERS, _change(tmp_path, "a", orders(1, 3, first_id=9000), removed),
                        properties={})
    expected = _pyiceberg_ids(table)
    before = table.current_snapshot()
    assert before is not None and len(expected) == len(rows)

    result = maintain_table(table, MaintenanceSettings(keep_last=5, keep_days=7), dry_run=False)
    table.refresh()
    assert result.partitions_compacted >= 3
    assert not [t for t in table.scan().plan_files() if t.delete_files]
    summary = _summary(table)
    assert summary["total-position-deletes"] == "0" and summary["total-delete-files"] == "0"
    _readers_agree(catalog, table, expected)
    assert _pyiceberg_ids(table, before.snapshot_id) == expected  # the kept snapshot still reads


def test_a_full_load_drops_the_delete_files(
    tmp_path: Path, world: tuple[SqlCatalog, Table, list[dict[str, Any]]]
) -> None:
    catalog, table, rows = world
    upsert_from_parquet(table, ORDERS, _change(tmp_path, "a", [], rows[:2]), properties={})
    full = write_orders(tmp_path / "full.parquet", rows[5:])
    overwrite_from_parquet(table, ORDERS, full, properties={})
    table.refresh()
    summary = _summary(table)
    assert summary["total-position-deletes"] == "0" and summary["total-delete-files"] == "0"
    expected = sorted(pq.read_table(full).column("order_id").to_pylist())
    _readers_agree(catalog, table, expected)
