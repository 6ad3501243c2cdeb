"""Table maintenance on a real embedded catalog: the 20-rerun size bound, orphans of a killed write,
time travel (VERSION AS OF, a tag, a branch) after expiry, dry runs that change nothing, compaction,
and the ``lakehouse maintain`` command."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from lakehouse_core.cli import main
from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.errors import ConfigError
from lakehouse_core.iceberg import ops
from lakehouse_core.iceberg.maintenance import maintain_catalog, maintain_table
from lakehouse_core.iceberg.promote import append_table, promote_all
from lakehouse_core.models import AsOf
from lakehouse_core.settings import MaintenanceSettings
from tests.core.iceberg_fixtures import build_fixture, open_catalog, promoted

pytestmark = pytest.mark.slow

RUNS = 20
KEEP_ONE = MaintenanceSettings(keep_last=1, keep_days=0, orphan_min_age_s=600, metadata_versions=1)
ORDERS, DAYS = 50_000, 4
"""Enough rows that data, not the 8 tables' metadata files, makes most of one run's bytes (as with
the generated data's daily partitions)."""


def warehouse_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in (root / "warehouse").rglob("*") if f.is_file())


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the data dir with its size and mtime (ns)."""
    return {
        str(f): (f.stat().st_size, f.stat().st_mtime_ns) for f in root.rglob("*") if f.is_file()
    }


@dataclass
class Reruns:
    root: Path
    catalog: SqlCatalog
    one_run_bytes: int
    tagged: int  # gold.daily_sales snapshot of run 3, tagged "audit"
    branched: int  # bronze.customers snapshot of run 2, branch "old"
    previous: int  # bronze.orders snapshot of run 19
    old_orphan: Path
    fresh_orphan: Path


@pytest.fixture(scope="module")
def reruns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reruns]:
    """50,000 orders promoted 20 times (phase 2's Iceberg load), a tag and a branch on old snapshots,
    every file then aged by 2 hours (reruns happen over time, not within a minute), and two Parquet
    files a killed write left in bronze.orders' data dir (one 2 hours old, one new)."""
    root = tmp_path_factory.mktemp("maintain") / "data"
    fx = build_fixture(root, days=DAYS, per_day=ORDERS // DAYS)
    catalog = open_catalog(root)
    promote_all(catalog, fx.paths, run_id="run-0")
    one = warehouse_bytes(root)
    for run in range(1, RUNS):
        promote_all(catalog, fx.paths, run_id=f"run-{run}")
    daily = catalog.load_table("gold.daily_sales")
    tagged = daily.snapshots()[2].snapshot_id
    ops.create_ref(daily, "audit", "tag", snapshot_id=tagged)
    customers = catalog.load_table("bronze.customers")
    branched = customers.snapshots()[1].snapshot_id
    ops.create_ref(customers, "old", "branch", snapshot_id=branched)
    orders = catalog.load_table("bronze.orders")
    previous = orders.snapshots()[-2].snapshot_id
    data_dir = Path(orders.location().removeprefix("file://")) / "data"
    source = next(data_dir.rglob("*.parquet"))
    old_orphan = source.parent / "00000-0-killed-old.parquet"
    fresh_orphan = source.parent / "00000-0-killed-fresh.parquet"
    shutil.copyfile(source, old_orphan)
    two_hours_ago = time.time() - 7200
    for path in (root / "warehouse").rglob("*"):
        os.utime(path, (two_hours_ago, two_hours_ago))
    shutil.copyfile(source, fresh_orphan)
    yield Reruns(root, catalog, one, tagged, branched, previous, old_orphan, fresh_orphan)


def test_dry_run_changes_nothing_and_reports_the_work(reruns: Reruns) -> None:
    files = listing(reruns.root)
    names = ("bronze.orders", "gold.daily_sales")
    locations = {t: reruns.catalog.load_table(t).metadata_location for t in names}
    report = maintain_catalog(reruns.catalog, KEEP_ONE, dry_run=True)
    assert report.dry_run
    orders = next(t for t in report.tables if t.table == "bronze.orders")
    assert orders.snapshots_expired == RUNS - 1
    assert orders.files_removed > 0 and orders.bytes_removed > 0
    # the killed write's old file only: reruns load their tables before any create attempt (one
    # left an orphan metadata file per rerun), and the fresh file is inside the safety window
    assert orders.orphans_removed == 1 and orders.orphans_too_young == 1
    assert listing(reruns.root) == files
    assert {t: reruns.catalog.load_table(t).metadata_location for t in locations} == locations


def test_twenty_reruns_stay_within_twice_one_run(reruns: Reruns) -> None:
    assert warehouse_bytes(reruns.root) > 5 * reruns.one_run_bytes  # what maintenance is for
    report = maintain_catalog(reruns.catalog, KEEP_ONE, dry_run=False)
    assert not report.dry_run and report.total("snapshots_expired") >= 8 * (RUNS - 2)
    assert warehouse_bytes(reruns.root) <= 2 * reruns.one_run_bytes
    assert not reruns.old_orphan.exists()  # left by a killed write, older than the safety window
    assert reruns.fresh_orphan.exists()  # inside the window: a write may still be committing it
    orders = reruns.catalog.load_table("bronze.orders")
    assert len(orders.snapshots()) == 1
    assert ops.read_as_of(orders).num_rows == ORDERS
    again = maintain_catalog(reruns.catalog, KEEP_ONE, dry_run=False)  # idempotent
    assert not again.changes_anything


def test_time_travel_to_kept_snapshots_after_maintenance(reruns: Reruns) -> None:
    maintain_catalog(reruns.catalog, KEEP_ONE, dry_run=False)
    daily = reruns.catalog.load_table("gold.daily_sales")
    customers = reruns.catalog.load_table("bronze.customers")
    assert daily.snapshot_by_id(reruns.tagged) is not None  # a tag's snapshot survives expiry
    assert customers.snapshot_by_name("old").snapshot_id == reruns.branched  # type: ignore[union-attr]
    assert reruns.catalog.load_table("bronze.orders").snapshot_by_id(reruns.previous) is None
    engine = DuckDbSqlEngine(reruns.catalog)
    sql = "SELECT count(*) FROM gold.daily_sales"
    assert engine.execute(sql, as_of=AsOf(snapshot_id=reruns.tagged)).tuples() == ((DAYS,),)
    assert engine.execute(sql, as_of=AsOf(ref="audit")).tuples() == ((DAYS,),)
    by_branch = engine.execute("SELECT count(*) FROM bronze.customers", as_of=AsOf(ref="old"))
    assert by_branch.tuples() == ((12,),)
    assert ops.read_as_of(customers, ref="old").num_rows == 12


def test_keep_last_and_keep_days_keep_snapshots(tmp_path: Path) -> None:
    catalog, fx = promoted(tmp_path / "data", days=2, per_day=2)
    for run in range(3):
        promote_all(catalog, fx.paths, run_id=f"again-{run}")
    table = catalog.load_table("gold.daily_sales")
    recent = maintain_table(table, MaintenanceSettings(keep_last=1, keep_days=7), dry_run=False)
    assert recent.snapshots_expired == 0  # every snapshot is newer than 7 days
    # the 4 loads and the snapshot that dropped the manifests of deleted files only
    assert len(table.snapshots()) == 5
    last_two = maintain_table(table, MaintenanceSettings(keep_last=2, keep_days=0), dry_run=False)
    assert (last_two.snapshots_expired, last_two.snapshots_kept) == (3, 2)
    assert len(catalog.load_table("gold.daily_sales").snapshots()) == 2


def test_zero_safety_window_needs_the_explicit_flag(tmp_path: Path) -> None:
    catalog, _ = promoted(tmp_path / "data", days=2, per_day=2)
    table = catalog.load_table("gold.regional_sales")
    with pytest.raises(ConfigError, match="allow_zero_orphan_age"):
        maintain_table(table, MaintenanceSettings(orphan_min_age_s=0), dry_run=True)
    fresh = Path(table.location().removeprefix("file://")) / "data" / "killed.parquet"
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"PAR1 half written")
    zero = MaintenanceSettings(orphan_min_age_s=0, allow_zero_orphan_age=True)
    result = maintain_table(table, zero, dry_run=False)
    assert result.orphans_removed == 1 and not fresh.exists()


def test_compaction_rewrites_small_files_with_the_same_rows(tmp_path: Path) -> None:
    root = tmp_path / "data"
    catalog, fx = promoted(root, days=3, per_day=4, run_id="base")
    for extra in range(4):
        append_table(catalog, "bronze.orders", fx.paths.bronze_parquet("orders"), f"extra-{extra}")
    table = catalog.load_table("bronze.orders")
    before = ops.read_as_of(table).sort_by("order_id")
    assert {p.file_count for p in ops.partition_stats(table)} == {5}
    settings = MaintenanceSettings(compact_min_files=5)
    plan = maintain_table(table, settings, dry_run=True)
    assert (plan.files_compacted, plan.partitions_compacted) == (15, 3)
    result = maintain_table(table, settings, dry_run=False)
    assert (result.files_compacted, result.files_written, result.snapshots_expired) == (15, 3, 0)
    table = catalog.load_table("bronze.orders")
    assert {p.file_count for p in ops.partition_stats(table)} == {1}
    assert ops.read_as_of(table).sort_by("order_id").equals(before)
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary["lakehouse.maintenance"] == "compaction"
    assert summary["lakehouse.run-id"] == "extra-3"  # the run id of what it replaced
    assert maintain_table(table, settings, dry_run=False).files_compacted == 0


def test_cli_maintain_dry_run_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "data"
    catalog, fx = promoted(root, days=2, per_day=2)
    promote_all(catalog, fx.paths, run_id="run-2")
    env = {"LAKEHOUSE_MAINTENANCE__KEEP_LAST": "1", "LAKEHOUSE_MAINTENANCE__KEEP_DAYS": "0"}
    os.environ.update(env)
    try:
        files = listing(root)
        assert main(["--data-dir", str(root), "maintain", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "gold.daily_sales: 1 snapshots would be expired" in out
        assert out.splitlines()[-1].startswith("dry run, nothing changed: 8 snapshots would be expired")
        assert listing(root) == files
        assert main(["--data-dir", str(root), "--json", "-q", "maintain", "--table", "gold.daily_sales"]) == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["dry_run"] is False and payload["totals"]["snapshots_expired"] == 1
        assert [t["table"] for t in payload["tables"]] == ["gold.daily_sales"]
        assert main(["--data-dir", str(root), "maintain", "--table", "gold.nope"]) == 4
        assert main(["--data-dir", str(root), "maintain", "--table", "nodot"]) == 2
    finally:
        for key in env:
            os.environ.pop(key, None)
    assert len(catalog.load_table("gold.daily_sales").snapshots()) == 1
    assert len(catalog.load_table("gold.regional_sales").snapshots()) == 2  # not asked for
