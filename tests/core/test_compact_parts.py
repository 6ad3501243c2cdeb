"""``lakehouse maintain`` compacts the published phase-1 run's parted tables: one part, no deletes,
the same live rows in the same order, and later incremental runs build on it."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest

from lakehouse_core import cli
from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.errors import BusyError
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.lock import RunLock
from lakehouse_core.pipeline.compact import compact_published, parted_tables
from lakehouse_core.pipeline.incremental import read_plan
from lakehouse_core.pipeline.parts import deletes_path, parts, read_live, table_rows
from lakehouse_core.publish import current_run
from tests.conftest import embedded_settings

HEADER = "order_id,customer_id,product_id,order_date,quantity,total_amount,status,payment_method".split(",")


def _deliver(paths: DataPaths, name: str, start: int, changed: int, new: int) -> None:
    """raw/<name>: ``changed`` clean orders re-delivered with quantity + 1, ``new`` copies with fresh ids."""
    with open(paths.raw_csv("orders"), newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["order_id"].isdigit() and r["quantity"].isdigit()
                and r["status"] == "completed"]
    out = [{**r, "quantity": str(int(r["quantity"]) + 1)} for r in rows[start:start + changed]]
    out += [{**r, "order_id": str(900_000 + start + i)} for i, r in enumerate(rows[:new])]
    with open(paths.raw / name, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)


def _live(run: DataPaths) -> dict[str, list[dict[str, object]]]:
    return {name: read_live(path).to_pylist() for name, path in parted_tables(run).items()}


def test_maintain_compacts_phase1_parts_with_identical_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    settings = embedded_settings(data, orders=300, phase_isolation="thread", incremental=True)
    backend = build_embedded(settings)
    paths = DataPaths(data)
    assert backend.phases.run(1).ok and backend.phases.run(2).ok
    _deliver(paths, "orders-2.csv", 0, 3, 4)
    assert backend.phases.run(1).ok
    _deliver(paths, "orders-3.csv", 10, 2, 5)
    assert backend.phases.run(1).ok and read_plan(paths.published()).mode == "incremental"
    published = paths.for_run(current_run(paths) or "")
    orders = published.bronze_parquet("orders")
    assert len(parts(orders)) == 3 and deletes_path(orders).is_file()
    before = _live(published)
    base_run = paths.for_run(read_plan(published).base_run or "")
    base_part = parts(base_run.bronze_parquet("orders"))[0]
    base_rows = read_live(base_part).num_rows

    # dry run: says what it would do, changes nothing
    assert cli.main(["--data-dir", str(data), "maintain", "--dry-run", "--json"]) == 0
    planned = {t["table"]: t for t in json.loads(capsys.readouterr().out)["tables"]}
    assert planned["phase-1 bronze.orders"]["files_compacted"] == 4  # 3 parts + the deletes
    assert planned["phase-1 silver.orders_enriched"]["files_written"] == 1
    assert "phase-1 bronze.customers" not in planned  # one part, no deletes: nothing to do
    assert len(parts(orders)) == 3 and _live(published) == before

    # a run holding the lock (another thread: the lock is reentrant for its holder): refused at once
    refused: list[BaseException] = []

    def other() -> None:
        try:
            compact_published(data, dry_run=False)
        except BusyError as exc:
            refused.append(exc)

    with RunLock.for_key(data, "data-dir").hold("phase 1"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=60)
    assert refused and "phase 1 is running" in str(refused[0]) and len(parts(orders)) == 3

    assert cli.main(["--data-dir", str(data), "maintain"]) == 0
    out = capsys.readouterr().out
    assert "phase-1 bronze.orders:" in out and "4 small files compacted into 1" in out
    for name, path in parted_tables(published).items():
        assert len(parts(path)) == 1 and not deletes_path(path).exists(), name
        assert not path.with_name(f".{path.name}.compact").exists()
    assert _live(published) == before  # the same rows in the same order
    assert read_live(base_part).num_rows == base_rows  # the base run's own part (a hard link) intact

    # the next incremental run builds on the compacted part; phase 2 takes it (gold still right)
    _deliver(paths, "orders-4.csv", 20, 2, 3)
    assert backend.phases.run(1).ok and read_plan(paths.published()).mode == "incremental"
    latest = paths.published()
    assert len(parts(latest.bronze_parquet("orders"))) == 2
    ids = [r["order_id"] for r in read_live(latest.bronze_parquet("orders")).to_pylist()
           if r["data_quality_flag"] == "valid"]
    assert len(ids) == len(set(ids))
    assert backend.phases.run(2).ok
    for name, path in parted_tables(latest).items():
        counted = backend.sql.execute(f"SELECT COUNT(*) FROM {name}").tuples()
        assert list(counted) == [(table_rows(path),)], name
    assert _live(published) == before  # the next run linked the compacted part, never changed it
