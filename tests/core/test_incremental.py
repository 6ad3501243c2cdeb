"""Incremental phase-1 runs: the raw-file ledger, upserts by key, gold recomputed for touched groups."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse_core.errors import PhaseFailed
from lakehouse_core.paths import GOLD_TABLES, DataPaths
from lakehouse_core.phases import run_phase1, wap
from lakehouse_core.pipeline.incremental import load_ledger, read_plan
from lakehouse_core.pipeline.parts import deleted_rows, parts, read_live, table_rows
from lakehouse_core.publish import current_run
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import LakehouseSettings

HEADER = "order_id,customer_id,product_id,order_date,quantity,total_amount,status,payment_method"


def _settings(data: Path, **kw: object) -> LakehouseSettings:
    values: dict[str, object] = {"data_dir": data, "phase_isolation": "thread", "orders": 400,
                                 "defect_rate": 0.02, "incremental": True, **kw}
    return LakehouseSettings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def _orders(paths: DataPaths) -> list[dict[str, str]]:
    with open(paths.raw_csv("orders"), newline="") as fh:
        return list(csv.DictReader(fh))


def _valid(rows: list[dict[str, str]], n: int, skip: int = 0) -> list[dict[str, str]]:
    """``n`` rows of the generated orders that are clean (positive ints, completed)."""
    ints = ("order_id", "quantity", "customer_id", "product_id")
    out = [r for r in rows if all(r[c].isdigit() for c in ints) and r["status"] == "completed"]
    return out[skip:skip + n]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER.split(","), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _changed(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**r, "quantity": str(int(r["quantity"]) + 1), "order_date": "2024-02-29",
             "total_amount": f"{float(r['total_amount']) + 7:.2f}"} for r in rows]


def _new(rows: list[dict[str, str]], start: int) -> list[dict[str, str]]:
    return [{**r, "order_id": str(start + i)} for i, r in enumerate(rows)]


def _table(path: Path) -> list[dict[str, object]]:
    """The live rows of a Parquet file or parted table (what every reader sees)."""
    return read_live(path).to_pylist()


def test_only_unseen_files_are_ingested_and_changed_orders_are_upserted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = _settings(data)
    first = run_phase1(settings, run_id="r1")
    paths = DataPaths(data)
    assert first.ok and current_run(paths) == "r1"
    assert read_plan(paths.for_run("r1")).mode == "full"

    # a renamed copy with the same bytes is not new: nothing is ingested or published
    shutil.copy(paths.raw_csv("orders"), paths.raw / "orders-copy.csv")
    again = run_phase1(settings, run_id="r2")
    assert "nothing new" in again.tasks[1].detail
    assert current_run(paths) == "r1" and RunManifests(paths).load("r2")["state"] == "discarded"
    (paths.raw / "orders-copy.csv").unlink()

    rows = _orders(paths)
    changed = _changed(_valid(rows, 3))
    new = _new(_valid(rows, 5, skip=10), 900_000)
    _write(paths.raw / "orders-2.csv", changed + new)
    third = run_phase1(settings, run_id="r3")
    assert third.ok and current_run(paths) == "r3"
    plan = read_plan(paths.for_run("r3"))
    assert plan.mode == "incremental" and [Path(f).name for f in plan.files["orders"]] == ["orders-2.csv"]
    assert plan.replaced == {"orders": 3}
    ledger = load_ledger(paths.run_dir("r3"))
    assert ledger is not None and {e["name"] for e in ledger.values()} >= {"orders.csv", "orders-2.csv"}

    before = read_live(paths.for_run("r1").bronze_parquet("orders"))
    after = read_live(paths.for_run("r3").bronze_parquet("orders"))
    assert after.num_rows == before.num_rows + len(new)  # changed orders replaced, never duplicated
    valid = [r for r in after.to_pylist() if r["data_quality_flag"] == "valid"]
    assert len({r["order_id"] for r in valid}) == len(valid)
    by_id = {r["order_id"]: r for r in valid}
    for r in changed:
        row = by_id[int(r["order_id"])]
        assert row["quantity"] == int(r["quantity"]) and str(row["order_date"]) == "2024-02-29"
        assert row["source_file"].endswith("orders-2.csv")
    silver = {r["order_id"]: r for r in _table(paths.for_run("r3").silver_orders)}
    assert all(str(silver[int(r["order_id"])]["order_date"]) == "2024-02-29" for r in changed)
    assert len(silver) == len(_table(paths.for_run("r3").silver_orders))  # one row per order

    # bronze and silver of r3: r1's part (a hard link, not a copy) + r3's new part + the replaced rows'
    # positions; nothing of r1 was rewritten
    orders_dir = paths.for_run("r3").bronze_parquet("orders")
    assert [p.name for p in parts(orders_dir)] == ["part-r1.parquet", "part-r3.parquet"]
    assert (orders_dir / "part-r1.parquet").stat().st_ino == (
        paths.for_run("r1").bronze_parquet("orders") / "part-r1.parquet").stat().st_ino
    assert deleted_rows(orders_dir) == 3 and deleted_rows(paths.for_run("r3").silver_orders) == 3

    # counts reconcile: this run's raw rows = its new bronze rows = valid + quarantined
    report = json.loads(paths.for_run("r3").quality_report.read_text())["tables"]["orders"]
    inc = report["increment"]
    assert inc["raw_rows"] == len(changed + new) == inc["bronze_rows"]
    assert inc["raw_rows"] == inc["valid_rows"] + inc["quarantined_rows"]
    assert report["raw_rows"] - report["replaced_rows"] == after.num_rows
    assert report["valid_rows"] + report["quarantined_rows"] == after.num_rows

    # a changed file (same name, other bytes) makes the next run a full one
    _write(paths.raw / "orders-2.csv", new)
    fourth = run_phase1(settings, run_id="r4")
    assert fourth.ok and read_plan(paths.for_run("r4")).mode == "full"


def test_gold_equals_a_full_recompute_on_the_union_of_inputs(tmp_path: Path) -> None:
    inc_dir, full_dir = tmp_path / "inc", tmp_path / "full"
    run_phase1(_settings(inc_dir), run_id="base")
    inc = DataPaths(inc_dir)
    rows = _orders(inc)
    changed = _changed(_valid(rows, 4, skip=3))
    new = _new(_valid(rows, 6, skip=20), 800_000)
    _write(inc.raw / "orders-2.csv", changed + new)
    result = run_phase1(_settings(inc_dir), run_id="next")
    assert result.ok and read_plan(inc.for_run("next")).mode == "incremental"

    # the union of the inputs with each re-delivered order in its latest version, run in full
    shutil.copytree(inc.raw, full_dir / "raw")
    (full_dir / "raw" / "orders-2.csv").unlink()
    latest = {r["order_id"]: r for r in changed}
    _write(full_dir / "raw" / "orders.csv", [latest.get(r["order_id"], r) for r in rows] + new)
    run_phase1(_settings(full_dir, incremental=False), run_id="full")
    full = DataPaths(full_dir).for_run("full")
    for table in GOLD_TABLES:
        assert _table(inc.for_run("next").gold_parquet(table)) == _table(full.gold_parquet(table)), table
    silver = read_live(inc.for_run("next").silver_orders).sort_by("order_id").to_pylist()
    assert silver == read_live(full.silver_orders).sort_by("order_id").to_pylist()


def test_a_failed_incremental_run_leaves_the_ledger_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    settings = _settings(data)
    run_phase1(settings, run_id="r1")
    paths = DataPaths(data)
    ledger = load_ledger(paths.current)
    rows = _orders(paths)
    _write(paths.raw / "orders-2.csv", _new(_valid(rows, 3), 700_000))

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("audit crashed")

    monkeypatch.setattr(wap, "audit_phase1", broken)
    with pytest.raises(PhaseFailed):
        run_phase1(settings, run_id="r2")
    assert current_run(paths) == "r1" and load_ledger(paths.current) == ledger
    monkeypatch.undo()
    retry = run_phase1(settings, run_id="r3")  # the file is still unseen: the retry ingests it
    assert retry.ok and read_plan(paths.published()).mode == "incremental"
    assert retry.rows_per_layer["raw.orders"] == 3


def _iceberg(settings: LakehouseSettings, identifier: str) -> list[dict[str, object]]:
    from lakehouse_core.iceberg.catalog import open_embedded_catalog

    table = open_embedded_catalog(settings).load_table(identifier)
    return table.scan().to_arrow().to_pylist()


def test_phase2_upserts_an_incremental_run_into_iceberg(tmp_path: Path) -> None:
    from lakehouse_core.backends.embedded import build_embedded
    from lakehouse_core.iceberg.catalog import open_embedded_catalog

    data = tmp_path / "data"
    settings = _settings(data)
    backend = build_embedded(settings)
    assert backend.phases.run(1).ok
    full = backend.phases.run(2)
    assert full.ok and "loaded" in full.tasks[1].detail
    paths = DataPaths(data)
    rows = _orders(paths)
    changed = _changed(_valid(rows, 3))
    new = _new(_valid(rows, 5, skip=10), 900_000)
    _write(paths.raw / "orders-2.csv", changed + new)
    assert backend.phases.run(1).ok
    upsert = backend.phases.run(2)
    assert upsert.ok and "upserted" in upsert.tasks[1].detail

    published = paths.published()
    orders = _iceberg(settings, "bronze.orders")
    assert len(orders) == table_rows(published.bronze_parquet("orders"))
    valid = [r["order_id"] for r in orders if r["data_quality_flag"] == "valid"]
    assert len(valid) == len(set(valid))
    by_id = {r["order_id"]: r for r in orders if r["data_quality_flag"] == "valid"}
    for row in changed:
        assert by_id[int(row["order_id"])]["quantity"] == int(row["quantity"])
        assert str(by_id[int(row["order_id"])]["order_date"]) == "2024-02-29"
    assert {int(r["order_id"]) for r in new} <= set(by_id)
    silver = _iceberg(settings, "silver.orders_enriched")
    assert sorted(r["order_id"] for r in silver) == sorted(
        read_live(published.silver_orders, ["order_id"]).column("order_id").to_pylist())
    for table in GOLD_TABLES:
        key = pq.read_schema(published.gold_parquet(table)).names[0]
        assert sorted(_iceberg(settings, f"gold.{table}"), key=lambda r: str(r[key])) == sorted(
            _table(published.gold_parquet(table)), key=lambda r: str(r[key]))

    # merge-on-read: the replaced rows are position deletes (one delete file per partition of theirs), no
    # data file is rewritten; untouched tables got an empty snapshot
    catalog = open_embedded_catalog(settings)
    summary = catalog.load_table("bronze.orders").current_snapshot().summary  # type: ignore[union-attr]
    old_days = {r["order_date"] for r in _orders(paths) if r["order_id"] in {c["order_id"] for c in changed}}
    assert int(summary.get("deleted-data-files") or 0) == 0
    assert int(summary.get("added-position-deletes") or 0) == len(changed)
    assert 0 < int(summary.get("added-delete-files") or 0) <= len(old_days)
    customers = catalog.load_table("bronze.customers").current_snapshot().summary  # type: ignore[union-attr]
    assert int(customers.get("added-records") or 0) == 0 and int(customers.get("deleted-records") or 0) == 0


def test_phase2_loads_in_full_when_iceberg_is_not_from_the_base_run(tmp_path: Path) -> None:
    from lakehouse_core.backends.embedded import build_embedded

    data = tmp_path / "data"
    settings = _settings(data)
    backend = build_embedded(settings)
    assert backend.phases.run(1).ok and backend.phases.run(2).ok
    paths = DataPaths(data)
    rows = _orders(paths)
    _write(paths.raw / "orders-2.csv", _new(_valid(rows, 2), 900_000))
    assert backend.phases.run(1).ok
    _write(paths.raw / "orders-3.csv", _new(_valid(rows, 2, skip=5), 910_000))
    assert backend.phases.run(1).ok  # Iceberg holds r1, this run builds on r2: a full load
    result = backend.phases.run(2)
    assert result.ok and "loaded" in result.tasks[1].detail
    orders = _iceberg(settings, "bronze.orders")
    assert len(orders) == table_rows(paths.published().bronze_parquet("orders"))
    assert {900_000, 900_001, 910_000, 910_001} <= {r["order_id"] for r in orders}


def _csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_gold_equals_a_full_recompute_after_removals_and_changed_customers_and_products(
    tmp_path: Path,
) -> None:
    """Gold's touched groups are recomputed from the silver change: orders cancelled (rows removed, a
    group may empty), moved to a new day, a customer moved to another state and segment, a product
    renamed; every gold table (distinct customers per day and state included) equals a full run."""
    inc_dir, full_dir = tmp_path / "inc", tmp_path / "full"
    run_phase1(_settings(inc_dir), run_id="base")
    inc = DataPaths(inc_dir)
    rows = _orders(inc)
    valid = _valid(rows, 40)
    customer, product = valid[0]["customer_id"], valid[1]["product_id"]
    cancelled = [{**r, "status": "cancelled"} for r in valid[2:6]]
    moved = [{**r, "order_date": "2025-12-31"} for r in valid[6:9]]  # a day no other order has
    same_customer = [r for r in rows if r["customer_id"] == valid[10]["customer_id"]]
    per_day: dict[str, int] = {}
    for r in rows:
        per_day[r["order_date"]] = per_day.get(r["order_date"], 0) + 1
    lone = [r for r in valid[20:] if per_day[r["order_date"]] == 1][:1]  # its day's only order
    assert lone
    gone_day = [{**r, "status": "cancelled"} for r in same_customer[:1] + lone]
    new = _new([{**r, "order_date": "2024-02-29", "customer_id": customer} for r in valid[12:20]], 700_000)
    orders_2 = cancelled + moved + gone_day + new

    c_header, customers = _csv(inc.raw_csv("customers"))
    p_header, products = _csv(inc.raw_csv("products"))
    states = sorted({c["state"] for c in customers})
    changed_customer = [{**c, "state": states[0] if c["state"] != states[0] else states[-1],
                         "customer_segment": "Premium" if c["customer_segment"] != "Premium" else "Standard"}
                        for c in customers if c["customer_id"] == customer]
    changed_product = [{**p, "product_name": "Renamed Thing", "category": "Electronics"}
                       for p in products if p["product_id"] == product]
    assert changed_customer and changed_product
    _write(inc.raw / "orders-2.csv", orders_2)
    _write_rows(inc.raw / "customers-2.csv", c_header, changed_customer)
    _write_rows(inc.raw / "products-2.csv", p_header, changed_product)
    result = run_phase1(_settings(inc_dir), run_id="next")
    assert result.ok and read_plan(inc.for_run("next")).mode == "incremental"

    full_dir.mkdir()
    raw = full_dir / "raw"
    raw.mkdir()
    latest = {r["order_id"]: r for r in orders_2}
    _write(raw / "orders.csv", [latest.pop(r["order_id"], r) for r in rows] + list(latest.values()))
    by_c = {c["customer_id"]: c for c in changed_customer}
    _write_rows(raw / "customers.csv", c_header, [by_c.get(c["customer_id"], c) for c in customers])
    by_p = {p["product_id"]: p for p in changed_product}
    _write_rows(raw / "products.csv", p_header, [by_p.get(p["product_id"], p) for p in products])
    run_phase1(_settings(full_dir, incremental=False), run_id="full")
    full = DataPaths(full_dir).for_run("full")
    for table in GOLD_TABLES:
        assert _table(inc.for_run("next").gold_parquet(table)) == _table(full.gold_parquet(table)), table
    silver = read_live(inc.for_run("next").silver_orders).sort_by("order_id").to_pylist()
    assert silver == read_live(full.silver_orders).sort_by("order_id").to_pylist()
    days = {str(r["date"]) for r in _table(full.gold_parquet("daily_sales"))}
    assert "2025-12-31" in days and lone[0]["order_date"] not in days
