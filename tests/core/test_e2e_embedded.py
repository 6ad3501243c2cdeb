"""Issue 2's end-to-end check through the embedded Backend: generate 5,000 orders, phases 1-4,
reconcile gold with the raw CSVs computed independently, partition specs, idempotent rerun,
time travel after a second append."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.iceberg.promote import append_table
from lakehouse_core.models import AsOf, TableRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import table_rows
from tests.conftest import embedded_settings

pytestmark = pytest.mark.slow

SPECS = {
    "bronze.customers": [],
    "bronze.products": [("category", "identity")],
    "bronze.orders": [("order_date", "day")],
    "silver.orders_enriched": [("order_year", "identity"), ("order_month", "identity")],
    "gold.daily_sales": [],
    "gold.customer_metrics": [],
    "gold.product_performance": [],
    "gold.regional_sales": [],
}


def _independent_gold(raw: Path) -> tuple[Decimal, int, int]:
    """Revenue, orders and units of clean non-cancelled orders, straight from the CSVs (no DuckDB)."""
    with (raw / "customers.csv").open() as f:
        customers = {r["customer_id"] for r in csv.DictReader(f) if r["customer_id"]}
    with (raw / "products.csv").open() as f:
        products = {r["product_id"] for r in csv.DictReader(f) if r["product_id"]}
    seen: set[str] = set()
    revenue, orders, units = Decimal(0), 0, 0
    with (raw / "orders.csv").open() as f:
        rows = list(csv.DictReader(f))
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["order_id"]] += 1
    for r in rows:
        oid = r["order_id"]
        first = oid not in seen
        seen.add(oid)
        try:
            amount, qty = Decimal(r["total_amount"]), int(r["quantity"])
            y, m, d = (int(x) for x in r["order_date"].split("-"))
            __import__("datetime").date(y, m, d)
        except (ValueError, ArithmeticError):
            continue
        if (
            not oid
            or not first
            or r["customer_id"] not in customers
            or r["product_id"] not in products
            or amount < 0
            or qty <= 0
            or r["status"] not in ("completed", "pending", "cancelled")
            or r["payment_method"] not in ("Credit Card", "PayPal", "Debit Card")
        ):
            continue
        if r["status"] == "cancelled":
            continue
        revenue += amount
        orders += 1
        units += qty
    return revenue, orders, units


def test_phases_end_to_end(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path / "data", defect_rate=0.0)
    backend = build_embedded(settings)
    paths = DataPaths(settings.data_path).published()  # what readers see: data/current

    p1 = backend.phases.run(1)
    assert p1.rows_per_layer["raw.orders"] == p1.rows_per_layer["bronze.orders"] == 5000
    for table in ("customers", "products", "orders"):
        assert p1.rows_per_layer[f"bronze.{table}"] == (
            table_rows(paths.bronze_parquet(table))
        )

    revenue, orders, units = _independent_gold(paths.raw)
    daily = pq.read_table(paths.gold_parquet("daily_sales")).to_pylist()
    assert sum(r["total_revenue"] for r in daily) == revenue
    assert sum(r["num_orders"] for r in daily) == orders
    perf = pq.read_table(paths.gold_parquet("product_performance")).to_pylist()
    assert sum(r["units_sold"] for r in perf) == units

    p2 = backend.phases.run(2)
    assert {s.table for s in p2.snapshots} == set(SPECS)
    assert p2.rows_per_layer["bronze.orders"] == 5000 and set(p2.rows_per_layer) == set(SPECS)
    for name, spec in SPECS.items():
        detail = backend.catalog.table_detail(TableRef.parse(name))
        assert [(p.source, p.transform) for p in detail.partition_spec] == spec, name
    counts = {name: backend.catalog.table_detail(TableRef.parse(name)).row_count for name in SPECS}
    assert counts["bronze.orders"] == 5000
    assert counts["silver.orders_enriched"] == orders

    # a rerun of phase 2 on the same data leaves every table's contents unchanged
    backend.phases.run(2)
    assert {name: backend.catalog.table_detail(TableRef.parse(name)).row_count for name in SPECS} == counts
    gold = backend.sql.execute("SELECT SUM(total_revenue), SUM(num_orders) FROM gold.daily_sales")
    assert gold.tuples()[0] == (revenue, orders)

    # a second append: time travel returns the older count
    orders_ref = TableRef(("bronze",), "orders")
    before = backend.catalog.snapshots(orders_ref)[-1].snapshot_id
    append_table(
        open_embedded_catalog(settings), "bronze.orders", paths.bronze_parquet("orders"), run_id="again"
    )
    assert backend.sql.execute("SELECT COUNT(*) FROM bronze.orders").tuples()[0][0] == 10000
    old = backend.sql.execute("SELECT COUNT(*) FROM bronze.orders", as_of=AsOf(snapshot_id=before))
    assert old.tuples()[0][0] == 5000

    p3 = backend.phases.run(3)
    assert p3.outputs["time_travel"]["count_then"] == 5000
    assert p3.outputs["time_travel"]["count_now"] == 10000
    assert len(p3.outputs["top_customers"]["rows"]) == 10
    assert {r[0] for r in p3.outputs["revenue_by_category"]["rows"]} <= {
        "Electronics",
        "Clothing",
        "Home",
        "Sports",
        "Books",
    }

    p4 = backend.phases.run(4)
    assert p4.outputs["alerts"][0]["name"] == "HighMemoryUsage"
    assert set(p4.outputs["freshness_s"]) == set(SPECS)
    assert set(backend.phases.last_results()) == {1, 2, 3, 4}
