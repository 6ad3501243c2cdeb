"""Small hand-made Parquet files of every layer, exactly following lakehouse_core.schemas.

The data is deterministic: ``days`` consecutive days from 2024-03-01, ``per_day`` orders a day,
12 customers, 5 products (one per category); every 5th order is cancelled, every 7th pending.
Silver and gold are derived here in plain Python (Decimal arithmetic) from the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

from lakehouse_core import schemas
from lakehouse_core.iceberg.catalog import open_embedded_catalog
from lakehouse_core.iceberg.promote import promote_all
from lakehouse_core.paths import DataPaths
from lakehouse_core.settings import load_settings

START = date(2024, 3, 1)
INGESTED = datetime(2024, 4, 1, 12, 0, 0)
STATES = ("CA", "NY", "TX", "WA")
CITIES = {"CA": "Los Angeles", "NY": "New York", "TX": "Austin", "WA": "Seattle"}
N_CUSTOMERS = 12


@dataclass(frozen=True)
class Fixture:
    """Paths of the written files and the rows of every table (dicts, contract column names)."""

    paths: DataPaths
    rows: dict[str, list[dict[str, Any]]]
    days: int


def _lineage(table: str) -> dict[str, Any]:
    return {"ingested_at": INGESTED, "data_quality_flag": "valid", "source_file": f"raw/{table}.csv"}


def customers() -> list[dict[str, Any]]:
    out = []
    for cid in range(1, N_CUSTOMERS + 1):
        state = STATES[cid % len(STATES)]
        out.append({
            "customer_id": cid, "email": f"c{cid}@example.com", "first_name": f"First{cid}",
            "last_name": f"Last{cid}", "city": CITIES[state], "state": state,
            "registration_date": date(2023, 1, cid), "customer_segment": schemas.SEGMENTS[cid % 3],
            **_lineage("customers"),
        })
    return out


def products() -> list[dict[str, Any]]:
    return [
        {
            "product_id": pid, "product_name": f"Product {pid}", "category": schemas.CATEGORIES[pid - 1],
            "price": Decimal(f"{pid * 10 + 0.99:.2f}"), "stock_quantity": 100 * pid, **_lineage("products"),
        }
        for pid in range(1, 6)
    ]


def orders(days: int, per_day: int, first_id: int = 1, start: date = START) -> list[dict[str, Any]]:
    prods = {p["product_id"]: p for p in products()}
    out = []
    oid = first_id
    for d in range(days):
        for k in range(per_day):
            pid = (oid % 5) + 1
            qty = (oid % 4) + 1
            status = "cancelled" if oid % 5 == 0 else "pending" if oid % 7 == 0 else "completed"
            out.append({
                "order_id": oid, "customer_id": (oid * 7 + k) % N_CUSTOMERS + 1, "product_id": pid,
                "order_date": start + timedelta(days=d), "quantity": qty,
                "total_amount": prods[pid]["price"] * qty, "status": status,
                "payment_method": schemas.PAYMENT_METHODS[oid % 3], **_lineage("orders"),
            })
            oid += 1
    return out


def silver(order_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cust = {c["customer_id"]: c for c in customers()}
    prods = {p["product_id"]: p for p in products()}
    out = []
    for o in order_rows:
        if o["status"] == "cancelled":
            continue
        c, p, d = cust[o["customer_id"]], prods[o["product_id"]], o["order_date"]
        out.append({
            **{k: o[k] for k in ("order_id", "customer_id", "product_id", "order_date", "quantity",
                                 "total_amount", "status", "payment_method")},
            "customer_segment": c["customer_segment"], "city": c["city"], "state": c["state"],
            "product_name": p["product_name"], "category": p["category"], "unit_price": p["price"],
            "revenue": o["total_amount"], "order_year": d.year, "order_month": d.month, "order_day": d.day,
            "order_dow": d.isoweekday(), "order_quarter": (d.month - 1) // 3 + 1,
        })
    return out


def gold(silver_rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    by_cust: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_prod: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_state: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in silver_rows:
        by_day[r["order_date"]].append(r)
        by_cust[r["customer_id"]].append(r)
        by_prod[r["product_id"]].append(r)
        by_state[r["state"]].append(r)
    cents = Decimal("0.01")
    daily = [
        {
            "date": d, "num_orders": len(rs), "total_revenue": sum(r["revenue"] for r in rs),
            "unique_customers": len({r["customer_id"] for r in rs}),
            "avg_order_value": (sum(r["revenue"] for r in rs) / len(rs)).quantize(cents, ROUND_HALF_UP),
        }
        for d, rs in sorted(by_day.items())
    ]
    cm = [
        {
            "customer_id": cid, "customer_segment": rs[0]["customer_segment"], "total_orders": len(rs),
            "lifetime_value": sum(r["revenue"] for r in rs),
            "first_order_date": min(r["order_date"] for r in rs),
            "last_order_date": max(r["order_date"] for r in rs),
            "days_active": (max(r["order_date"] for r in rs) - min(r["order_date"] for r in rs)).days,
        }
        for cid, rs in sorted(by_cust.items())
    ]
    pp = [
        {
            "product_id": pid, "product_name": rs[0]["product_name"], "category": rs[0]["category"],
            "num_orders": len(rs), "units_sold": sum(r["quantity"] for r in rs),
            "total_revenue": sum(r["revenue"] for r in rs),
        }
        for pid, rs in sorted(by_prod.items())
    ]
    rsales = [
        {
            "state": st, "num_orders": len(rs), "total_revenue": sum(r["revenue"] for r in rs),
            "unique_customers": len({r["customer_id"] for r in rs}),
        }
        for st, rs in sorted(by_state.items())
    ]
    return {"daily_sales": daily, "customer_metrics": cm, "product_performance": pp, "regional_sales": rsales}


def to_arrow(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows as an arrow table of exactly ``schema``."""
    return pa.Table.from_pylist(rows, schema=schema)


def write_orders(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write bronze orders rows to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_arrow(rows, schemas.BRONZE["orders"]), path)
    return path


def build_fixture(root: Path, *, days: int = 20, per_day: int = 3) -> Fixture:
    """Write every layer's Parquet under ``root`` (DataPaths layout) and return the rows."""
    paths = DataPaths(root).ensure()
    o = orders(days, per_day)
    s = silver(o)
    g = gold(s)
    rows: dict[str, list[dict[str, Any]]] = {
        "bronze.customers": customers(), "bronze.products": products(), "bronze.orders": o,
        "silver.orders_enriched": s, **{f"gold.{k}": v for k, v in g.items()},
    }
    for name in ("customers", "products", "orders"):
        pq.write_table(to_arrow(rows[f"bronze.{name}"], schemas.BRONZE[name]), paths.bronze_parquet(name))
    pq.write_table(to_arrow(s, schemas.SILVER_ORDERS_ENRICHED), paths.silver_orders)
    for name, gr in g.items():
        pq.write_table(to_arrow(gr, schemas.GOLD[name]), paths.gold_parquet(name))
    return Fixture(paths, rows, days)


def open_catalog(root: Path) -> SqlCatalog:
    """Embedded catalog under ``root`` (catalog.db + warehouse/)."""
    return open_embedded_catalog(load_settings(data_dir=root, catalog_uri=None, warehouse=None))


def promoted(
    root: Path, *, days: int = 20, per_day: int = 3, run_id: str = "run-1"
) -> tuple[SqlCatalog, Fixture]:
    """Build the fixture Parquet under ``root`` and promote it once."""
    fx = build_fixture(root, days=days, per_day=per_day)
    catalog = open_catalog(root)
    promote_all(catalog, fx.paths, run_id=run_id)
    return catalog, fx
