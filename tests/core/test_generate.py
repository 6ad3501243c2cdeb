"""The raw-data generator: sizes, headers, determinism, value domains, defects that reconcile."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline import generate as gen
from lakehouse_core.pipeline import generate_sample_data, ingest_to_bronze, validate_data_quality
from lakehouse_core.schemas import CATEGORIES, PAYMENT_METHODS, RAW_COLUMNS, SEGMENTS, STATUSES


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split(",")
        fh.seek(0)
        return header, list(csv.DictReader(fh))


@pytest.mark.parametrize(("orders", "customers", "products"), [
    (1, 1, 200), (1_000, 200, 200), (5_000, 1_000, 200), (12_500, 2_500, 500),
])
def test_sizes_and_headers(tmp_path: Path, orders: int, customers: int, products: int) -> None:
    paths = DataPaths(tmp_path / "data")
    result = generate_sample_data(paths, orders=orders, seed=7)
    expected = {"customers": customers, "products": products, "orders": orders}
    assert result.outputs["sizes"] == expected
    assert dict(result.rows) == {f"raw.{t}": n for t, n in expected.items()}
    for table, n in expected.items():
        header, rows = _read(paths.raw_csv(table))
        assert tuple(header) == RAW_COLUMNS[table]
        assert len(rows) == n
    assert result.outputs["defects"] == {"customers": {}, "products": {}, "orders": {}}


def test_default_sizes(tmp_path: Path) -> None:
    assert gen.sizes_for(5000) == (1000, 200)
    result = generate_sample_data(DataPaths(tmp_path / "d"))
    assert result.outputs["sizes"] == {"customers": 1000, "products": 200, "orders": 5000}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = (DataPaths(tmp_path / n) for n in "abc")
    generate_sample_data(a, orders=3000, seed=42, defect_rate=0.03)
    generate_sample_data(b, orders=3000, seed=42, defect_rate=0.03)
    generate_sample_data(c, orders=3000, seed=43, defect_rate=0.03)
    for table in RAW_COLUMNS:
        assert a.raw_csv(table).read_bytes() == b.raw_csv(table).read_bytes()
        assert a.raw_csv(table).read_bytes() != c.raw_csv(table).read_bytes()


def test_clean_values_are_realistic(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    anchor = date(2026, 11, 26)
    generate_sample_data(paths, orders=5000, seed=3, anchor_date=anchor)
    _, customers = _read(paths.raw_csv("customers"))
    _, products = _read(paths.raw_csv("products"))
    _, orders = _read(paths.raw_csv("orders"))

    assert [int(c["customer_id"]) for c in customers] == list(range(1, 1001))
    assert {c["customer_segment"] for c in customers} == set(SEGMENTS)
    for c in customers:
        local = f"{c['first_name']}.{c['last_name']}".lower()
        assert c["email"].endswith(f"{c['customer_id']}@example.com")
        assert c["email"].split("@")[0].rstrip("0123456789") == "".join(
            ch for ch in local if ch.isalpha() or ch == ".")
        assert date.fromisoformat(c["registration_date"]) < anchor - timedelta(days=365)
        assert c["city"] and len(c["state"]) == 2

    assert {p["category"] for p in products} == set(CATEGORIES)
    price = {int(p["product_id"]): Decimal(p["price"]) for p in products}
    assert all(Decimal("5.00") <= v <= Decimal("1500.00") and v == v.quantize(Decimal("0.01"))
               for v in price.values())
    assert all(0 <= int(p["stock_quantity"]) <= 1000 for p in products)

    assert [int(o["order_id"]) for o in orders] == list(range(1, 5001))
    assert {o["status"] for o in orders} == set(STATUSES)
    assert {o["payment_method"] for o in orders} == set(PAYMENT_METHODS)
    for o in orders:
        assert 1 <= int(o["customer_id"]) <= 1000 and 1 <= int(o["product_id"]) <= 200
        assert 1 <= int(o["quantity"]) <= 5
        assert Decimal(o["total_amount"]) == int(o["quantity"]) * price[int(o["product_id"])]
        assert anchor - timedelta(days=364) <= date.fromisoformat(o["order_date"]) <= anchor
    share = Counter(o["status"] for o in orders)
    assert abs(share["completed"] / 5000 - 0.80) < 0.03
    assert abs(share["pending"] / 5000 - 0.12) < 0.03
    assert abs(share["cancelled"] / 5000 - 0.08) < 0.03


def test_defect_counts(tmp_path: Path) -> None:
    result = generate_sample_data(DataPaths(tmp_path / "d"), orders=6000, seed=1, defect_rate=0.05)
    defects = result.outputs["defects"]
    # 300 order defects cycling over 6 kinds: 50 each; null keys and orphans split in two variants
    assert defects["orders"] == {
        "null_key": 50, "negative_amount": 50, "invalid_status": 50, "duplicate_order_id": 50,
        "orphan_customer_id": 25, "orphan_product_id": 25, "unparseable_date": 50,
    }
    assert sum(defects["customers"].values()) == 30  # 1200 customers * 0.05 * 0.5
    assert sum(defects["products"].values()) == 6  # 240 products * 0.05 * 0.5


@pytest.mark.parametrize(("orders", "rate", "chunk"), [(5000, 0.02, gen.CHUNK_ROWS), (2500, 0.2, 700)])
def test_defects_reconcile_with_quarantine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orders: int, rate: float, chunk: int
) -> None:
    monkeypatch.setattr(gen, "CHUNK_ROWS", chunk)  # several chunks exercise the chunk boundaries
    paths = DataPaths(tmp_path / "data")
    result = generate_sample_data(paths, orders=orders, seed=11, defect_rate=rate)
    ingest_to_bronze(paths, run_id="g")
    validate_data_quality(paths, run_id="g")
    report = json.loads(paths.quality_report.read_text())
    for table in RAW_COLUMNS:
        assert report["tables"][table]["checks"] == dict(sorted(result.outputs["defects"][table].items()))
    assert report["tables"]["orders"]["quarantined_rows"] == round(orders * rate)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="defect_rate"):
        generate_sample_data(DataPaths(tmp_path / "d"), orders=10, defect_rate=1.5)
    with pytest.raises(ValueError, match="orders"):
        generate_sample_data(DataPaths(tmp_path / "d"), orders=0)
