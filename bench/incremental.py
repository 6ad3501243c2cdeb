"""Benchmark: a full run (phase 1 + 2) against an incremental one after 1% new orders plus 100 changed
old orders re-delivered in a new raw file ``raw/orders-2.csv``, in the same bench run. Prints both
times, the seconds of every task, and the ratio (target: incremental <= 10% of the full run).

Raw data is generated before the timed runs (generation is not part of a run). Correctness: every
gold table (Parquet of the published run and the published Iceberg table) must equal a full
recomputation: phase 1 rebuilt from scratch, non-incrementally, from the same raw files in another
directory; bronze.orders in Iceberg must hold each order_id once, with the changed values.

    .venv/bin/python bench/incremental.py --orders 1000000
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.paths import GOLD_TABLES, DataPaths
from lakehouse_core.pipeline.parts import read_live, schema_of, table_sql
from lakehouse_core.pipeline.tasks import PHASE1_TASKS, generate_sample_data
from lakehouse_core.settings import LakehouseSettings

NEW_DAYS = 4
"""New orders are spread over the last days of the data (1% of a year of orders is ~4 days of them)."""
HEADER = "order_id,customer_id,product_id,order_date,quantity,total_amount,status,payment_method".split(",")


def _timed_run(backend: Any) -> tuple[float, list[str]]:
    started = time.perf_counter()
    lines = []
    for phase in (1, 2):
        result = backend.phases.run(phase)
        if not result.ok:
            raise SystemExit(f"phase {phase} failed: {result.error}")
        lines += [f"  phase {phase} {t.name:<24} {t.seconds:7.2f} s  {t.detail[:110]}" for t in result.tasks]
        lines.append(f"  phase {phase} total {result.seconds:.2f} s")
    return time.perf_counter() - started, lines


def _add_orders(raw: Path, new: int, changed: int, valid: set[str]) -> list[dict[str, str]]:
    """Write raw/orders-2.csv: ``new`` copies of valid orders with fresh ids, dated over the last
    NEW_DAYS days of the data (new orders are recent), and ``changed`` old orders altered (quantity + 1,
    total + 1, any date), taken among orders bronze holds as valid whose id occurs once.
    Returns the changed rows."""
    with open(raw / "orders.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids = Counter(row["order_id"] for row in rows)
    max_id = max(int(i) for i in ids if i.isdigit())
    clean = [r for r in rows if ids[r["order_id"]] == 1 and r["order_id"] in valid][:new + changed]
    altered = [{**row, "quantity": str(int(row["quantity"]) + 1),
                "total_amount": f"{float(row['total_amount']) + 1:.2f}"} for row in clean[:changed]]
    with open(raw / "orders-2.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(altered)
        last = date.fromisoformat(max(r["order_date"] for r in clean))
        for i, row in enumerate(clean[changed:changed + new]):
            day = last - timedelta(days=i % NEW_DAYS)
            writer.writerow({**row, "order_id": str(max_id + 1 + i), "order_date": day.isoformat()})
    return altered


def _valid_ids(paths: DataPaths) -> set[str]:
    orders = read_live(paths.bronze_parquet("orders"), ["order_id", "data_quality_flag"])
    return {str(i) for i, flag in zip(*orders.to_pydict().values(), strict=True) if flag == "valid"}


def _recompute_raw(raw: Path, into: Path, altered: list[dict[str, str]]) -> None:
    """The same data delivered at once: ``orders.csv`` with each changed order in place of its first
    line and the new orders appended (what phase 1 reads when nothing came incrementally)."""
    into.mkdir(parents=True)
    for f in raw.glob("*.csv"):
        if not f.name.startswith("orders"):
            os.link(f, into / f.name)
    changed = {r["order_id"]: r for r in altered}
    with open(raw / "orders-2.csv", newline="") as fh:
        added = [r for r in csv.DictReader(fh) if r["order_id"] not in changed]
    with open(raw / "orders.csv", newline="") as src, open(into / "orders.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        for row in csv.DictReader(src):
            writer.writerow(changed.pop(row["order_id"], row))
        writer.writerows(added)


def _full_recompute(raw: Path, into: Path, altered: list[dict[str, str]]) -> DataPaths:
    """Phase 1's tasks from scratch (not incremental) on the same data delivered at once."""
    paths = DataPaths(into)
    _recompute_raw(raw, paths.raw, altered)
    paths.ensure()
    for name, _, task in PHASE1_TASKS[1:]:
        task(paths, run_id="recompute", **({"incremental": False} if name == "ingest_to_bronze" else {}))
    return paths


def _differs(con: duckdb.DuckDBPyConnection, a: str, b: str, columns: str = "*") -> int:
    """Rows of ``a`` not in ``b`` plus rows of ``b`` not in ``a`` (as multisets)."""
    (n,), = con.execute(f"SELECT (SELECT COUNT(*) FROM (SELECT {columns} FROM {a} EXCEPT ALL "
                        f"SELECT {columns} FROM {b})) + (SELECT COUNT(*) FROM (SELECT {columns} FROM {b} "
                        f"EXCEPT ALL SELECT {columns} FROM {a}))").fetchall()
    return int(n)


def _p(path: Path) -> str:
    return table_sql(path)


def _check(settings: LakehouseSettings, paths: DataPaths, full: DataPaths) -> list[str]:
    bad = []
    published = paths.published()
    catalog = open_embedded_catalog(settings)
    con = duckdb.connect()
    for table in GOLD_TABLES:
        if _differs(con, _p(full.gold_parquet(table)), _p(published.gold_parquet(table))):
            bad.append(f"gold/{table}.parquet")
        con.register("iceberg", catalog.load_table(f"gold.{table}").scan().to_arrow())
        if _differs(con, _p(full.gold_parquet(table)), "iceberg"):
            bad.append(f"iceberg gold.{table}")
    silver_columns = ", ".join(n for n in schema_of(full.silver_orders).names if n not in SKIP)
    if _differs(con, _p(full.silver_orders), _p(published.silver_orders), silver_columns):
        bad.append("silver/orders_enriched.parquet")
    columns = ", ".join(n for n in schema_of(full.bronze_parquet("orders")).names if n not in SKIP)
    con.register("iceberg", catalog.load_table("bronze.orders").scan().to_arrow())
    if _differs(con, _p(full.bronze_parquet("orders")), "iceberg", columns):
        bad.append("iceberg bronze.orders")
    (dups,), = con.execute("SELECT COUNT(*) - COUNT(DISTINCT order_id) FROM iceberg "
                           "WHERE data_quality_flag = 'valid'").fetchall()
    if dups:
        bad.append(f"iceberg bronze.orders: {dups} valid order_ids twice")
    (expected,), = con.execute("SELECT COUNT(*) FROM iceberg").fetchall()
    con.close()
    engine = DuckDbSqlEngine(catalog)  # the SQL engine's iceberg_scan applies the position deletes
    try:
        (rows, dups), = engine.execute(
            "SELECT COUNT(*), COUNT(order_id) FILTER (WHERE data_quality_flag = 'valid') - "
            "COUNT(DISTINCT order_id) FILTER (WHERE data_quality_flag = 'valid') FROM bronze.orders").tuples()
        if not engine.uses_iceberg_extension or rows != expected or dups:
            bad.append(f"SQL engine bronze.orders: {rows} rows (pyiceberg {expected}), {dups} ids twice")
    finally:
        engine.close()
    return bad


SKIP = ("ingested_at", "source_file")
"""Columns that differ between any two runs (ingestion time, the raw file a row came from)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        data = Path(tmp) / "data"
        settings = LakehouseSettings(_env_file=None, data_dir=data, orders=args.orders,  # type: ignore[call-arg]
                                     phase_isolation="thread", defect_rate=0.01, runs_keep=2,
                                     incremental=True, generate="never")
        paths = DataPaths(data)
        generate_sample_data(paths, orders=args.orders, defect_rate=0.01)
        backend = build_embedded(settings)
        full, full_lines = _timed_run(backend)
        altered = _add_orders(paths.raw, args.orders // 100, args.changed, _valid_ids(paths.published()))
        incremental, inc_lines = _timed_run(backend)
        bad = _check(settings, paths, _full_recompute(paths.raw, Path(tmp) / "recompute", altered))
    ratio = incremental / full
    print("full run:", *full_lines, "incremental run:", *inc_lines, sep="\n")
    print(f"orders {args.orders:,}: full run (phase 1 + 2) {full:.2f} s; incremental run "
          f"(+{args.orders // 100:,} new, {args.changed} changed) {incremental:.2f} s; ratio {ratio:.1%} "
          f"(target <= 10%: {'PASS' if ratio <= 0.10 else 'FAIL'})")
    print("gold (Parquet and Iceberg), silver and Iceberg bronze.orders (pyiceberg and the SQL engine) "
          "equal a full recomputation: "
          + ("yes" if not bad else f"NO ({'; '.join(bad)})"))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
