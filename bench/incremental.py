"""Benchmark: a full run (phase 1 + 2) against an incremental one after 1% new orders plus 100 changed
old orders re-delivered in a new raw file ``raw/orders-<n>.csv``; checks that gold equals a full
recomputation (every gold table recomputed from the incremental run's silver). Prints both times and
the ratio (target: incremental <= 10% of the full run).

    .venv/bin/python bench/incremental.py --orders 1000000
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.paths import GOLD_TABLES, DataPaths
from lakehouse_core.pipeline._duck import sql_text
from lakehouse_core.settings import LakehouseSettings

HEADER = "order_id,customer_id,product_id,order_date,quantity,total_amount,status,payment_method".split(",")


def _timed_run(backend: object) -> float:
    started = time.perf_counter()
    for phase in (1, 2):
        result = backend.phases.run(phase)  # type: ignore[attr-defined]
        if not result.ok:
            raise SystemExit(f"phase {phase} failed: {result.error}")
    return time.perf_counter() - started


def _add_orders(raw: Path, new: int, changed: int) -> Path:
    """Write raw/orders-2.csv: ``new`` copies of clean orders with fresh ids, ``changed`` old ones altered."""
    with open(raw / "orders.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        clean = []
        max_id = 0
        for row in reader:
            if row["order_id"].isdigit():
                max_id = max(max_id, int(row["order_id"]))
            if len(clean) < new + changed and row["status"] == "completed" and all(
                    row[c].isdigit() for c in ("order_id", "customer_id", "product_id", "quantity")):
                clean.append(row)
    target = raw / "orders-2.csv"
    with open(target, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        for row in clean[:changed]:
            writer.writerow({**row, "quantity": str(int(row["quantity"]) + 1),
                             "total_amount": f"{float(row['total_amount']) + 1:.2f}"})
        for i, row in enumerate(clean[changed:changed + new]):
            writer.writerow({**row, "order_id": str(max_id + 1 + i)})
    return target


def _gold_equals_full_recompute(paths: DataPaths) -> list[str]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW silver_orders_enriched AS SELECT * FROM read_parquet('{paths.silver_orders}')")
    bad = []
    for table in GOLD_TABLES:
        full = con.execute(sql_text(f"gold_{table}")).to_arrow_table()
        if full.to_pylist() != pq.read_table(paths.gold_parquet(table)).to_pylist():
            bad.append(table)
    con.close()
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        data = Path(tmp) / "data"
        settings = LakehouseSettings(_env_file=None, data_dir=data, orders=args.orders,  # type: ignore[call-arg]
                                     phase_isolation="thread", defect_rate=0.01, runs_keep=2,
                                     incremental=True)
        backend = build_embedded(settings)
        full = _timed_run(backend)
        paths = DataPaths(data)
        _add_orders(paths.raw, args.orders // 100, args.changed)
        incremental = _timed_run(backend)
        bad = _gold_equals_full_recompute(paths.published())
    ratio = incremental / full
    print(f"orders {args.orders:,}: full run (phase 1 + 2) {full:.2f} s; incremental run "
          f"(+{args.orders // 100:,} new, {args.changed} changed) {incremental:.2f} s; ratio {ratio:.1%} "
          f"(target <= 10%: {'PASS' if ratio <= 0.10 else 'FAIL'})")
    print("gold equals a full recomputation: " + ("yes" if not bad else f"NO ({', '.join(bad)})"))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
