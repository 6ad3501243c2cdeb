"""NessieCatalogBrowser on real Nessie + MinIO: the embedded browser's checks, on a stack table.

The fixture data (tests/core/iceberg_fixtures.py: 20 days x 3 orders, then 4 more orders) is promoted
through Nessie's Iceberg REST catalog onto a fresh Nessie branch, so every run is isolated.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse_core.backends.stack.catalog import NessieCatalogBrowser
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.errors import ConflictError, LakehouseError, NotFoundError
from lakehouse_core.iceberg import ops
from lakehouse_core.iceberg.promote import RUN_ID_PROPERTY, append_table, promote_all
from lakehouse_core.models import PartitionFieldInfo, TableRef
from lakehouse_core.ports import CatalogBrowser
from tests.core.iceberg_fixtures import build_fixture, orders, write_orders
from tests.stack.conftest import StackEndpoints, make_stack_settings

ORDERS = TableRef(("bronze",), "orders")
MISSING = TableRef(("bronze",), "nope")


@pytest.fixture(scope="module")
def setup(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("stack-catalog")
    branch = f"test-catalog-{uuid.uuid4().hex[:10]}"
    settings = make_stack_settings(stack, root / "data", nessie={
        "url": stack.nessie_url, "ref": branch})
    client = NessieClient(settings)
    # an empty branch (at Nessie's root commit): table histories hold only this module's commits
    client.create_branch(branch, "main", at_hash=client.config()["noAncestorHash"])
    writer = open_rest_catalog(settings, branch)
    fx = build_fixture(root)
    promote_all(writer, fx.paths, run_id="run-1")
    extra = write_orders(Path(root) / "extra.parquet", orders(1, 4, first_id=900))
    append_table(writer, ORDERS, extra, "run-2")
    browser = NessieCatalogBrowser(settings, client)
    yield {"browser": browser, "writer": writer, "client": client, "branch": branch, "settings": settings}
    for ref in (branch, f"{branch}-tag"):
        with contextlib.suppress(NotFoundError):
            client.delete_ref(ref)
    client.close()


def test_satisfies_the_protocol(setup: dict[str, Any]) -> None:
    assert isinstance(setup["browser"], CatalogBrowser)


def test_namespaces_and_tables_on_the_branch_only(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    assert browser.list_namespaces() == [("bronze",), ("gold",), ("silver",)]
    assert [t.identifier for t in browser.list_tables(("bronze",))] == [
        "bronze.customers", "bronze.orders", "bronze.products",
    ]
    assert [t.name for t in browser.list_tables(("gold",))] == [
        "customer_metrics", "daily_sales", "product_performance", "regional_sales",
    ]
    missing_ns = f"platinum_{uuid.uuid4().hex[:6]}"
    with pytest.raises(NotFoundError, match=f"namespace {missing_ns}"):
        browser.list_tables((missing_ns,))


def test_table_detail(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    detail = browser.table_detail(ORDERS)
    table = setup["writer"].load_table("bronze.orders")
    assert detail.table == ORDERS
    assert detail.current_snapshot_id == table.current_snapshot().snapshot_id
    assert detail.row_count == 64
    assert detail.format_version == 2
    assert detail.partition_spec == (PartitionFieldInfo("order_date", "day", "order_date_day"),)
    assert detail.location.startswith("s3://")
    with pytest.raises(NotFoundError, match="bronze.nope"):
        browser.table_detail(MISSING)


def test_snapshots_rebuilt_from_nessie_commits(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    snaps = browser.snapshots(ORDERS)
    assert [s.operation for s in snaps] == ["append", "append"]
    assert snaps[1].parent_id == snaps[0].snapshot_id
    assert snaps[0].committed_at <= snaps[1].committed_at
    assert [s.summary[RUN_ID_PROPERTY] for s in snaps] == ["run-1", "run-2"]
    assert [(s.added_rows, s.total_rows) for s in snaps] == [(60, 60), (4, 64)]
    with pytest.raises(NotFoundError):
        browser.snapshots(MISSING)


def test_partition_stats_and_files_per_snapshot(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    snaps = browser.snapshots(ORDERS)
    stats = browser.partition_stats(ORDERS)
    assert sum(s.record_count for s in stats) == 64 and len(stats) == 20
    assert stats[0].partition == "order_date_day=2024-03-01"
    assert (stats[0].record_count, stats[0].file_count) == (7, 2)
    old_stats = browser.partition_stats(ORDERS, snapshot_id=snaps[0].snapshot_id)
    assert sum(s.record_count for s in old_stats) == 60 and len(old_stats) == 20
    files = browser.files(ORDERS)
    assert len(files) == 21 and sum(f.record_count for f in files) == 64
    assert all(f.path.startswith("s3://") for f in files)
    assert len(browser.files(ORDERS, snapshot_id=snaps[0].snapshot_id)) == 20
    with pytest.raises(NotFoundError, match="snapshot 42"):
        browser.files(ORDERS, snapshot_id=42)


def test_preview_current_and_as_of_snapshot(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    snaps = browser.snapshots(ORDERS)
    current = browser.preview(ORDERS, limit=1000)
    assert current.row_count == 64 and not current.truncated
    assert current.columns[0] == "order_id"
    old = browser.preview(ORDERS, snapshot_id=snaps[0].snapshot_id, limit=1000)
    assert old.row_count == 60 and 900 not in {r[0] for r in old.tuples()}
    cut = browser.preview(ORDERS, limit=10)
    assert cut.row_count == 10 and cut.truncated


def test_diff_snapshots(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    snaps = browser.snapshots(ORDERS)
    diff = browser.diff_snapshots(ORDERS, snaps[0].snapshot_id, snaps[1].snapshot_id, sample=2)
    assert (diff.table, diff.added_count, diff.removed_count) == ("bronze.orders", 4, 0)
    assert [r[0] for r in diff.added_sample] == [900, 901]


def test_scan_plan_prunes_partitions(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    plan = browser.scan_plan(ORDERS, "order_date = '2024-03-10'")
    assert plan.table == "bronze.orders"
    assert (plan.files_total, plan.files_scanned, plan.rows_scanned) == (21, 1, 3)
    with pytest.raises(LakehouseError, match="invalid filter"):
        browser.scan_plan(ORDERS, "no_such_column = 1")


def test_refs_are_nessie_branches_and_tags(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    branch = setup["branch"]
    tag_name = f"{branch}-tag"
    tag = browser.create_ref(tag_name, "tag", from_ref=branch)
    head = setup["client"].get_ref(branch)
    assert (tag.kind, tag.hash, tag.table) == ("tag", head.hash, None)
    refs = {r.name: r for r in browser.list_refs()}
    assert refs["main"].is_default and refs[branch].kind == "branch" and refs[tag_name].kind == "tag"
    # the tag is a frozen view: the branch moves on, the tag keeps 64 rows
    append_table(setup["writer"], ORDERS, write_orders(
        Path(setup["settings"].data_path) / "more.parquet", orders(1, 2, first_id=950)), "run-3")
    browser.forget(branch)
    assert browser.table_detail(ORDERS).row_count == 66
    assert browser.table_detail(ORDERS, ref=tag_name).row_count == 64
    assert len(browser.snapshots(ORDERS, ref=tag_name)) == 2
    with pytest.raises(ConflictError):
        browser.create_ref(tag_name, "tag", from_ref=branch)
    with pytest.raises(LakehouseError, match="from a ref"):
        browser.create_ref("x", "branch", snapshot_id=1)
    main_tables = {t.identifier for ns in browser.list_namespaces(ref="main")
                   for t in browser.list_tables(ns, ref="main")}
    assert "bronze.orders" not in main_tables or browser.table_detail(
        ORDERS, ref="main").current_snapshot_id not in {s.snapshot_id for s in browser.snapshots(ORDERS)}


def test_schema_history_after_add_column(setup: dict[str, Any]) -> None:
    browser: NessieCatalogBrowser = setup["browser"]
    ops.add_column(setup["writer"].load_table("bronze.orders"), "channel", "string")
    history = browser.schema_history(ORDERS)
    assert [(v.schema_id, v.is_current, len(v.fields)) for v in history] == [(0, False, 11), (1, True, 12)]
    assert history[-1].fields[-1].name == "channel"
