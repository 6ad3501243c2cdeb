"""promote_all / append_table / naive baseline on hand-made Parquet fixtures."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse_core import schemas
from lakehouse_core.errors import CancelledError, DataError
from lakehouse_core.iceberg import promote
from lakehouse_core.iceberg.promote import (
    RUN_ID_PROPERTY,
    SOURCE_PROPERTY,
    append_table,
    naive_append_bronze_orders,
    promote_all,
)
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.models import ProgressEvent, TableRef
from lakehouse_core.ports import CancelToken
from tests.core.iceberg_fixtures import build_fixture, open_catalog, orders, write_orders

EXPECTED_SPECS = {
    "bronze.customers": [],
    "bronze.products": [("category", "identity", "category")],
    "bronze.orders": [("order_date", "day", "order_date_day")],
    "silver.orders_enriched": [
        ("order_year", "identity", "order_year"),
        ("order_month", "identity", "order_month"),
    ],
    "gold.daily_sales": [],
    "gold.customer_metrics": [],
    "gold.product_performance": [],
    "gold.regional_sales": [],
}


class Recorder:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


def _sorted(table, key: str):
    return table.sort_by([(key, "ascending")] + [(c, "ascending") for c in table.column_names if c != key])


def test_promote_creates_every_table_with_its_partition_spec(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    refs = promote_all(catalog, fx.paths, run_id="run-1")
    assert [r.table for r in refs] == list(EXPECTED_SPECS)
    assert sorted(catalog.list_namespaces()) == [("bronze",), ("gold",), ("silver",)]
    for ident, spec in EXPECTED_SPECS.items():
        table = catalog.load_table(ident)
        schema = table.schema()
        got = [(schema.find_column_name(f.source_id), str(f.transform), f.name) for f in table.spec().fields]
        assert got == spec, ident


def test_schemas_follow_the_contract_with_stable_field_ids(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    promote_all(catalog, fx.paths, run_id="run-1")
    for definition in TABLES:
        table = catalog.load_table(definition.identifier)
        fields = table.schema().fields
        assert [f.field_id for f in fields] == list(range(1, len(definition.arrow_schema) + 1))
        assert [f.name for f in fields] == definition.arrow_schema.names
        arrow = table.scan().to_arrow()
        expected_types = [f.type for f in definition.arrow_schema]
        assert [f.type for f in arrow.schema] == expected_types, definition.identifier
    orders_schema = catalog.load_table("bronze.orders").scan().to_arrow().schema
    assert orders_schema.field("total_amount").type == schemas.MONEY


def test_row_counts_and_contents_equal_the_parquet(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    promote_all(catalog, fx.paths, run_id="run-1")
    for definition in TABLES:
        source = pq.read_table(definition.source_path(fx.paths))
        loaded = catalog.load_table(definition.identifier).scan().to_arrow()
        assert loaded.num_rows == source.num_rows == len(fx.rows[definition.identifier])
        first = definition.arrow_schema.names[0]
        assert _sorted(loaded, first).equals(_sorted(source.cast(definition.arrow_schema), first))


def test_rerun_is_idempotent_and_adds_exactly_one_snapshot_per_table(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    first = promote_all(catalog, fx.paths, run_id="run-1")
    counts = {d.identifier: catalog.load_table(d.identifier).scan().to_arrow().num_rows for d in TABLES}
    second = promote_all(catalog, fx.paths, run_id="run-2")
    for before, after in zip(first, second, strict=True):
        table = catalog.load_table(after.table)
        snaps = table.snapshots()
        assert [s.snapshot_id for s in snaps] == [before.snapshot_id, after.snapshot_id]
        assert table.current_snapshot().snapshot_id == after.snapshot_id
        assert before.operation == "append" and after.operation == "overwrite"
        assert table.scan().to_arrow().num_rows == counts[after.table]
        props = snaps[-1].summary.additional_properties
        assert props[RUN_ID_PROPERTY] == "run-2"
        assert props["total-records"] == str(counts[after.table])
        assert props["deleted-records"] == str(counts[after.table])
        assert snaps[0].summary.additional_properties[RUN_ID_PROPERTY] == "run-1"
    orders_snap = catalog.load_table("bronze.orders").current_snapshot()
    source = str(fx.paths.bronze_parquet("orders"))
    assert orders_snap.summary.additional_properties[SOURCE_PROPERTY] == source


def test_progress_events_are_phase_2_per_table(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    recorder = Recorder()
    promote_all(open_catalog(tmp_path), fx.paths, run_id="r", progress=recorder)
    assert {e.phase for e in recorder.events} == {2}
    starts = [(e.task, e.total) for e in recorder.events if e.kind == "start"]
    finishes = [(e.task, e.done) for e in recorder.events if e.kind == "finish"]
    expected = [(d.identifier, len(fx.rows[d.identifier])) for d in TABLES]
    assert starts == expected and finishes == expected


def test_partitioned_table_streams_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(promote, "CHUNK_ROWS", 7)
    monkeypatch.setattr(promote, "BATCH_ROWS", 4)
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    promote_all(catalog, fx.paths, run_id="r")
    table = catalog.load_table("bronze.orders")
    data = table.scan().to_arrow()
    assert sorted(data.column("order_id").to_pylist()) == list(range(1, 61))
    files = table.inspect.files()
    # sorted stream: each 7-row chunk spans at most 4 days, so files <= days + chunks
    assert fx.days <= files.num_rows <= fx.days + 9
    assert len(catalog.load_table("bronze.customers").snapshots()) == 1


def test_missing_parquet_raises_data_error_before_writing(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    fx.paths.gold_parquet("regional_sales").unlink()
    catalog = open_catalog(tmp_path)
    with pytest.raises(DataError, match="regional_sales.parquet"):
        promote_all(catalog, fx.paths, run_id="r")
    assert catalog.list_namespaces() == []


def test_missing_contract_column_raises_data_error(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    table = pq.read_table(fx.paths.bronze_parquet("customers")).drop_columns(["email"])
    pq.write_table(table, fx.paths.bronze_parquet("customers"))
    with pytest.raises(DataError, match="email"):
        promote_all(open_catalog(tmp_path), fx.paths, run_id="r")


def test_cancel_commits_nothing(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        promote_all(catalog, fx.paths, run_id="r", cancel=token)
    assert all(catalog.load_table(d.identifier).current_snapshot() is None for d in TABLES)


def test_promote_to_a_branch_leaves_main_untouched(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    main_refs = promote_all(catalog, fx.paths, run_id="main-run")
    write_orders(fx.paths.bronze_parquet("orders"), orders(2, 3))
    dev_refs = promote_all(catalog, fx.paths, run_id="dev-run", branch="dev")
    table = catalog.load_table("bronze.orders")
    assert table.current_snapshot().snapshot_id == main_refs[2].snapshot_id
    assert table.refs()["dev"].snapshot_id == dev_refs[2].snapshot_id
    assert table.scan().to_arrow().num_rows == 60
    assert table.scan(snapshot_id=dev_refs[2].snapshot_id).to_arrow().num_rows == 6


def test_append_table_adds_one_append_snapshot(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    promote_all(catalog, fx.paths, run_id="r1")
    extra = write_orders(tmp_path / "extra.parquet", orders(1, 5, first_id=1000))
    ref = append_table(catalog, TableRef(("bronze",), "orders"), extra, "r2")
    table = catalog.load_table("bronze.orders")
    assert ref.operation == "append" and ref.snapshot_id == table.current_snapshot().snapshot_id
    assert len(table.snapshots()) == 2
    assert table.scan().to_arrow().num_rows == 65
    assert table.current_snapshot().summary.additional_properties[RUN_ID_PROPERTY] == "r2"


def test_naive_append_commits_once_per_chunk(tmp_path: Path) -> None:
    fx = build_fixture(tmp_path)
    catalog = open_catalog(tmp_path)
    refs = naive_append_bronze_orders(catalog, fx.paths, chunk_rows=25)
    table = catalog.load_table("bronze.orders")
    assert [r.snapshot_id for r in refs] == [s.snapshot_id for s in table.snapshots()]
    assert len(refs) == 3
    assert table.scan().to_arrow().num_rows == 60
