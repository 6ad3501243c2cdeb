"""Phase 1 end to end on 5,000 generated orders with defects, reconciled with an independent computation."""

from __future__ import annotations

import csv
import importlib.util
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakehouse_core.paths import GOLD_TABLES, TABLES, DataPaths
from lakehouse_core.pipeline import PHASE1_TASKS
from lakehouse_core.pipeline.parts import table_rows
from lakehouse_core.schemas import CATEGORIES, PAYMENT_METHODS, SEGMENTS, STATUSES

REPO = Path(__file__).resolve().parents[2]


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _dec(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip()) if text.strip() else None
    except InvalidOperation:
        return None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
        return True
    except ValueError:
        return False


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Expected:
    """What phase 1 must produce, computed from the raw CSVs with the csv module only."""

    raw: dict[str, int] = field(default_factory=dict)
    valid: dict[str, int] = field(default_factory=dict)
    revenue: Decimal = Decimal("0.00")
    orders: int = 0
    units: int = 0
    customers: set[int] = field(default_factory=set)
    by_state: dict[str, Decimal] = field(default_factory=dict)


def _first_seen(rows: list[dict[str, str]], key: str) -> list[bool]:
    seen: set[int] = set()
    first: list[bool] = []
    for r in rows:
        k = _int(r[key])
        first.append(k is None or k not in seen)
        if k is not None:
            seen.add(k)
    return first


def independent(paths: DataPaths) -> Expected:
    exp = Expected()
    customers = _read(paths.raw_csv("customers"))
    valid_c: dict[int, dict[str, str]] = {}
    for r, first in zip(customers, _first_seen(customers, "customer_id"), strict=True):
        cid, email = _int(r["customer_id"]), r["email"]
        if (cid is not None and first and "@" in email[1:-1] and _is_date(r["registration_date"])
                and r["customer_segment"] in SEGMENTS):
            valid_c[cid] = r
    products = _read(paths.raw_csv("products"))
    valid_p: set[int] = set()
    for r, first in zip(products, _first_seen(products, "product_id"), strict=True):
        pid, price, stock = _int(r["product_id"]), _dec(r["price"]), r["stock_quantity"]
        stock_ok = stock == "" or (_int(stock) is not None and _int(stock) >= 0)  # type: ignore[operator]
        if (pid is not None and first and r["product_name"] and r["category"] in CATEGORIES
                and price is not None and price > 0 and stock_ok):
            valid_p.add(pid)
    orders = _read(paths.raw_csv("orders"))
    n_valid_orders = 0
    for r, first in zip(orders, _first_seen(orders, "order_id"), strict=True):
        oid, cid, pid = _int(r["order_id"]), _int(r["customer_id"]), _int(r["product_id"])
        qty, amount = _int(r["quantity"]), _dec(r["total_amount"])
        if not (oid is not None and first and cid in valid_c and pid in valid_p and _is_date(r["order_date"])
                and qty is not None and qty > 0 and amount is not None and amount >= 0
                and r["status"] in STATUSES and r["payment_method"] in PAYMENT_METHODS):
            continue
        n_valid_orders += 1
        if r["status"] == "cancelled":
            continue
        assert cid is not None
        exp.revenue += amount
        exp.orders += 1
        exp.units += qty
        exp.customers.add(cid)
        state = valid_c[cid]["state"]
        exp.by_state[state] = exp.by_state.get(state, Decimal("0")) + amount
    exp.raw = {"customers": len(customers), "products": len(products), "orders": len(orders)}
    exp.valid = {"customers": len(valid_c), "products": len(valid_p), "orders": n_valid_orders}
    return exp


@pytest.fixture(scope="module")
def phase1(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataPaths, dict[str, Any]]:
    paths = DataPaths(tmp_path_factory.mktemp("e2e") / "data")
    results = {}
    for name, _, task in PHASE1_TASKS:
        kwargs: dict[str, Any] = {"run_id": "e2e"}
        if name == "generate_sample_data":
            kwargs.update(orders=5000, seed=2026, defect_rate=0.02)
        results[name] = task(paths, **kwargs)
    return paths, results


def test_counts_reconcile_per_table(phase1: tuple[DataPaths, dict[str, Any]]) -> None:
    paths, results = phase1
    exp = independent(paths)
    report = json.loads(paths.quality_report.read_text())
    assert exp.raw == {"customers": 1000, "products": 200, "orders": 5000}
    for table in TABLES:
        t = report["tables"][table]
        bronze_rows = table_rows(paths.bronze_parquet(table))
        quarantined = pq.read_metadata(paths.quarantine_parquet(table)).num_rows
        assert t["raw_rows"] == bronze_rows == exp.raw[table] == t["valid_rows"] + t["quarantined_rows"]
        assert t["valid_rows"] == exp.valid[table]
        assert quarantined == t["quarantined_rows"]
        assert t["checks"] == dict(sorted(results["generate_sample_data"].outputs["defects"][table].items()))
    assert report["tables"]["orders"]["quarantined_rows"] == 100  # 2% of 5,000


def test_gold_totals_match_independent_computation(phase1: tuple[DataPaths, dict[str, Any]]) -> None:
    paths, _ = phase1
    exp = independent(paths)
    silver = pq.read_table(paths.silver_orders)
    assert silver.num_rows == exp.orders
    daily = pq.read_table(paths.gold_parquet("daily_sales"))
    assert pc.sum(daily["total_revenue"]).as_py() == exp.revenue
    assert pc.sum(daily["num_orders"]).as_py() == exp.orders
    products = pq.read_table(paths.gold_parquet("product_performance"))
    assert pc.sum(products["units_sold"]).as_py() == exp.units
    assert pc.sum(products["total_revenue"]).as_py() == exp.revenue
    customers = pq.read_table(paths.gold_parquet("customer_metrics"))
    assert customers.num_rows == len(exp.customers)
    assert pc.sum(customers["lifetime_value"]).as_py() == exp.revenue
    regional = pq.read_table(paths.gold_parquet("regional_sales")).to_pylist()
    assert {r["state"]: r["total_revenue"] for r in regional} == exp.by_state
    for table in GOLD_TABLES:
        assert paths.gold_parquet(table).is_file()


def test_kpi_report_matches_independent_computation(phase1: tuple[DataPaths, dict[str, Any]]) -> None:
    paths, results = phase1
    exp = independent(paths)
    kpis = json.loads(paths.kpi_report.read_text())
    avg = (exp.revenue / exp.orders).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert {k: kpis[k] for k in ("total_revenue", "total_orders", "avg_order_value", "total_customers")} == {
        "total_revenue": str(exp.revenue), "total_orders": exp.orders, "avg_order_value": str(avg),
        "total_customers": len(exp.customers),
    }
    assert kpis["run_id"] == "e2e"
    assert results["generate_report"].outputs["kpis"] == kpis


def test_pandas_baseline_agrees(phase1: tuple[DataPaths, dict[str, Any]], tmp_path: Path) -> None:
    """The benchmark compares like with like: the pandas baseline finds the same rows and totals."""
    bench_file = REPO / "bench" / "pipeline_phase1.py"
    spec = importlib.util.spec_from_file_location("bench_pipeline_phase1", bench_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths, results = phase1
    other = DataPaths(tmp_path / "pandas").ensure()
    for table in TABLES:
        other.raw_csv(table).write_bytes(paths.raw_csv(table).read_bytes())
    out = module.run_pandas_phase1(other)
    report = json.loads(paths.quality_report.read_text())
    for table in TABLES:
        assert out[f"quarantine.{table}"] == report["tables"][table]["quarantined_rows"]
    kpis = results["generate_report"].outputs["kpis"]
    assert out["silver.orders_enriched"] == kpis["total_orders"]
    assert out["kpis"]["total_revenue"] == pytest.approx(float(kpis["total_revenue"]), abs=0.01)
    for table in GOLD_TABLES:
        assert out[f"gold.{table}"] == pq.read_metadata(paths.gold_parquet(table)).num_rows
