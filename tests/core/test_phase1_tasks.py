"""Phase-1 tasks on small hand-made CSVs, with every expected value worked out by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse_core.errors import CancelledError, DataError
from lakehouse_core.models import ProgressEvent
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline import (
    PHASE1_TASKS,
    _duck,
    aggregate_to_gold,
    generate_report,
    ingest_to_bronze,
    transform_to_silver,
    validate_data_quality,
)
from lakehouse_core.pipeline.parts import parts
from lakehouse_core.ports import CancelToken
from lakehouse_core.schemas import BRONZE, GOLD, RAW_COLUMNS, SILVER_ORDERS_ENRICHED

T_INGEST = datetime(2026, 11, 26, 12, 0, 0)
T_QUARANTINE = datetime(2026, 11, 26, 12, 5, 0)

CUSTOMERS = """customer_id,email,first_name,last_name,city,state,registration_date,customer_segment
1,ann@x.com,Ann,Lee,Austin,TX,2024-01-05,Premium
2,bob@x.com,Bob,Ray,Dallas,TX,2024-02-10,Standard
3,cy@x.com,Cy,Fox,Miami,FL,2024-03-15,Basic
4,dee@x.com,Dee,Ng,Tampa,FL,2024-04-20,Gold
,eve@x.com,Eve,Oh,Reno,NV,2024-05-01,Basic
5,fay@x.com,Fay,Po,Reno,NV,not-a-date,Basic
2,bob2@x.com,Bob,Ray,Dallas,TX,2024-02-10,Standard
6,nomail,Gus,Ho,Reno,NV,2024-06-01,Basic
"""
CUSTOMER_FLAGS = [
    "valid", "valid", "valid", "invalid_segment:Gold", "null_key:customer_id",
    "unparseable_date:registration_date", "duplicate_customer_id", "invalid_email",
]

PRODUCTS = """product_id,product_name,category,price,stock_quantity
10,Blue Lamp,Home,25.50,100
11,Red Laptop,Electronics,999.99,5
12,Old Novel,Books,12.00,0
13,Toy Car,Toys,5.00,3
14,Free Thing,Home,0.00,1
15,Bad Price,Home,abc,1
"""
PRODUCT_FLAGS = [
    "valid", "valid", "valid", "invalid_category:Toys", "nonpositive_price", "invalid_number:price",
]

ORDERS = """order_id,customer_id,product_id,order_date,quantity,total_amount,status,payment_method
1,1,10,2026-11-23,2,51.00,completed,Credit Card
2,1,11,2026-11-23,1,999.99,pending,PayPal
3,2,12,2026-11-29,3,36.00,completed,Debit Card
4,3,10,2026-11-29,1,25.50,cancelled,PayPal
5,3,12,2026-02-14,1,12.00,completed,Credit Card
,1,10,2026-11-23,1,25.50,completed,PayPal
6,,10,2026-11-23,1,25.50,completed,PayPal
7,1,10,2026-11-23,1,-25.50,completed,PayPal
8,1,10,2026-11-23,1,25.50,shipped?,PayPal
3,2,12,2026-11-29,3,36.00,completed,Debit Card
9,99,10,2026-11-23,1,25.50,completed,PayPal
10,1,98,2026-11-23,1,25.50,completed,PayPal
11,1,10,2024-13-45,1,25.50,completed,PayPal
12,1,10,2026-11-23,0,0.00,completed,PayPal
13,4,10,2026-11-23,1,25.50,completed,PayPal
14,1,13,2026-11-23,1,5.00,completed,PayPal
15,1,10,2026-11-23,1,25.50,completed,Bitcoin
16,2,11,2026-02-14,2,1999.98,completed,PayPal
17,1,10,not-a-date,1,25.50,completed,PayPal
"""
ORDER_FLAGS = [
    "valid", "valid", "valid", "valid", "valid",
    "null_key:order_id", "null_key:customer_id", "negative_amount", "invalid_status:shipped?",
    "duplicate_order_id", "orphan_customer_id", "orphan_product_id", "unparseable_date:order_date",
    "nonpositive_quantity", "orphan_customer_id", "orphan_product_id", "invalid_payment_method:Bitcoin",
    "valid", "unparseable_date:order_date",
]
RAW = {"customers": CUSTOMERS, "products": PRODUCTS, "orders": ORDERS}
FLAGS = {"customers": CUSTOMER_FLAGS, "products": PRODUCT_FLAGS, "orders": ORDER_FLAGS}


def _write_raw(paths: DataPaths, **texts: str) -> None:
    paths.ensure()
    for table, text in texts.items():
        paths.raw_csv(table).write_text(text, encoding="utf-8")


def _records(text: str) -> list[dict[str, str | None]]:
    """CSV text as dicts, empty fields as None (how the quarantine stores them)."""
    rows = csv.DictReader(io.StringIO(text))
    return [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]


def _rows(path: Path, sort_by: str | None = None) -> list[dict[str, object]]:
    rows = pq.read_table(path).to_pylist()
    return sorted(rows, key=lambda r: str(r[sort_by]).zfill(12)) if sort_by else rows


def _in_file_order(paths: DataPaths, table: str) -> list[dict[str, object]]:
    """Bronze rows (stored in no particular order) lined up with the raw lines they came from.

    A raw line matches the bronze row with the same key and the same text columns; among identical
    candidates the non-duplicate goes first (they are indistinguishable anyway).
    """
    key = RAW_COLUMNS[table][0]
    texts = [f.name for f in BRONZE[table] if f.name in RAW_COLUMNS[table] and str(f.type) == "string"]

    def ident(key_value: object, row: dict[str, object]) -> tuple[object, ...]:
        return (key_value, *(row[c] for c in texts))

    pool: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for row in pq.read_table(paths.bronze_parquet(table)).to_pylist():
        pool.setdefault(ident(row[key], row), []).append(row)
    for rows in pool.values():
        rows.sort(key=lambda r: str(r["data_quality_flag"]).startswith("duplicate_"))
    ordered = []
    for rec in _records(RAW[table]):
        text = (rec[key] or "").strip()
        ordered.append(pool[ident(int(text) if text.isdigit() else None, rec)].pop(0))
    assert not any(pool.values()), "bronze rows that match no raw line"
    return ordered


class Recorder:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    p = DataPaths(tmp_path / "data")
    _write_raw(p, **RAW)
    return p


@pytest.fixture
def bronze(paths: DataPaths) -> DataPaths:
    ingest_to_bronze(paths, run_id="r1", ingested_at=T_INGEST)
    return paths


@pytest.fixture
def silver(bronze: DataPaths) -> DataPaths:
    validate_data_quality(bronze, run_id="r1", quarantined_at=T_QUARANTINE)
    transform_to_silver(bronze, run_id="r1")
    return bronze


# ---------------------------------------------------------------- bronze
def test_bronze_schemas_counts_and_flags_per_raw_line(bronze: DataPaths) -> None:
    for table in ("customers", "products", "orders"):
        t = pq.read_table(bronze.bronze_parquet(table))
        assert t.schema.remove_metadata().equals(BRONZE[table])
        assert t.num_rows == len(FLAGS[table])
        assert [r["data_quality_flag"] for r in _in_file_order(bronze, table)] == FLAGS[table]
        assert set(t.column("ingested_at").to_pylist()) == {T_INGEST}
        assert set(t.column("source_file").to_pylist()) == {str(bronze.raw_csv(table))}


def test_bronze_typing(bronze: DataPaths) -> None:
    orders = _in_file_order(bronze, "orders")
    assert {k: orders[0][k] for k in RAW_COLUMNS["orders"]} == {
        "order_id": 1, "customer_id": 1, "product_id": 10, "order_date": date(2026, 11, 23), "quantity": 2,
        "total_amount": Decimal("51.00"), "status": "completed", "payment_method": "Credit Card",
    }
    assert orders[5]["order_id"] is None and orders[5]["customer_id"] == 1
    assert orders[7]["total_amount"] == Decimal("-25.50")
    assert orders[12]["order_date"] is None  # "2024-13-45" does not parse
    products = _in_file_order(bronze, "products")
    assert [p["price"] for p in products] == [
        Decimal("25.50"), Decimal("999.99"), Decimal("12.00"), Decimal("5.00"), Decimal("0.00"), None]
    customers = _in_file_order(bronze, "customers")
    assert customers[0]["registration_date"] == date(2024, 1, 5)
    assert customers[5]["registration_date"] is None


def test_first_line_of_a_repeated_key_wins_across_a_large_file(tmp_path: Path) -> None:
    # 600,000 lines (~27 MB) so DuckDB reads the CSV in several parallel chunks
    n = 600_000
    amounts = ["1.00"] * n
    ids = list(range(1, n + 1))
    ids[300_000], amounts[300_000] = n - 1, "2.00"  # first line of key n-1; its usual line comes later
    ids[n - 1], amounts[n - 1] = 7, "3.00"  # repeats key 7 of line 6
    lines = [f"{i},1,10,2026-11-23,1,{a},completed,PayPal" for i, a in zip(ids, amounts, strict=True)]
    paths = DataPaths(tmp_path / "data")
    _write_raw(paths, customers=CUSTOMERS, products=PRODUCTS,
               orders=ORDERS.splitlines()[0] + "\n" + "\n".join(lines) + "\n")
    result = ingest_to_bronze(paths, run_id="big", ingested_at=T_INGEST)
    assert result.outputs["valid_rows"]["orders"] == n - 2
    bronze = pq.read_table(paths.bronze_parquet("orders"), filters=[("order_id", "in", [7, n - 1])])
    flags = {(r["order_id"], str(r["total_amount"])): r["data_quality_flag"] for r in bronze.to_pylist()}
    assert flags == {(7, "1.00"): "valid", (7, "3.00"): "duplicate_order_id",
                     (n - 1, "2.00"): "valid", (n - 1, "1.00"): "duplicate_order_id"}
    validate_data_quality(paths, run_id="big", quarantined_at=T_QUARANTINE)
    quarantined = pq.read_table(paths.quarantine_parquet("orders")).to_pylist()
    assert [(q["order_id"], q["total_amount"], q["reason"]) for q in quarantined] == [
        (str(n - 1), "1.00", "duplicate_order_id"), ("7", "3.00", "duplicate_order_id")]


def test_blank_and_padded_values(tmp_path: Path) -> None:
    header = ORDERS.splitlines()[0]
    lines = [
        " 18 ,1,10, 2026-11-23 ,\u00a01,25.50 ,completed,PayPal",  # padded (also a no-break space): valid
        "19,  ,10,2026-11-23,1,25.50,completed,PayPal",
        "20,1,10,2026-11-23,\u00a0,25.50,completed,PayPal",
        "21,1,10,2026-11-23, 1 x,25.50,completed,PayPal",
    ]
    paths = DataPaths(tmp_path / "data")
    _write_raw(paths, customers=CUSTOMERS, products=PRODUCTS, orders="\n".join([header, *lines]) + "\n")
    ingest_to_bronze(paths, run_id="pad", ingested_at=T_INGEST)
    rows = sorted(pq.read_table(paths.bronze_parquet("orders")).to_pylist(), key=lambda r: r["order_id"])
    assert [r["data_quality_flag"] for r in rows] == [
        "valid", "null_key:customer_id", "null_value:quantity", "invalid_number:quantity"]
    assert (rows[0]["order_id"], rows[0]["order_date"], rows[0]["quantity"], rows[0]["total_amount"]) == (
        18, date(2026, 11, 23), 1, Decimal("25.50"))
    validate_data_quality(paths, run_id="pad", quarantined_at=T_QUARANTINE)
    quarantined = pq.read_table(paths.quarantine_parquet("orders")).to_pylist()
    assert [(q["customer_id"], q["quantity"]) for q in quarantined] == [
        ("  ", "1"), ("1", "\u00a0"), ("1", " 1 x")]


def test_ingest_result_rows(paths: DataPaths) -> None:
    result = ingest_to_bronze(paths, run_id="r1", ingested_at=T_INGEST)
    assert dict(result.rows) == {
        "raw.customers": 8, "bronze.customers": 8, "raw.products": 6, "bronze.products": 6,
        "raw.orders": 19, "bronze.orders": 19,
    }
    assert result.outputs["valid_rows"] == {"customers": 3, "products": 3, "orders": 6}


def test_missing_raw_csv_is_a_clear_data_error(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    _write_raw(paths, customers=CUSTOMERS, products=PRODUCTS)
    with pytest.raises(DataError) as err:
        ingest_to_bronze(paths, run_id="r1")
    assert str(err.value) == (
        f"missing input {paths.raw / 'orders*.csv'}: add raw CSVs or run `lakehouse generate`")


def test_wrong_header_is_a_data_error(paths: DataPaths) -> None:
    paths.raw_csv("products").write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: unexpected CSV header id,name; expected product_id,"):
        ingest_to_bronze(paths, run_id="r1")


def test_header_only_files_give_empty_layers(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    _write_raw(paths, **{t: ",".join(cols) + "\n" for t, cols in RAW_COLUMNS.items()})
    for _name, _, task in PHASE1_TASKS[1:]:
        task(paths, run_id="empty")
    assert pq.read_table(paths.silver_orders).num_rows == 0
    kpis = json.loads(paths.kpi_report.read_text())
    assert (kpis["total_revenue"], kpis["total_orders"], kpis["avg_order_value"]) == ("0.00", 0, "0.00")


# ---------------------------------------------------------------- quarantine + report
def test_quarantine_keeps_original_text_and_reason(silver: DataPaths) -> None:
    for table in ("customers", "products", "orders"):
        q = pq.read_table(silver.quarantine_parquet(table))
        assert q.column_names == [*RAW_COLUMNS[table], "reason", "quarantined_at", "source_file", "line",
                                  "csv_line"]
        expected = [
            {**rec, "reason": flag, "quarantined_at": T_QUARANTINE, "source_file": str(silver.raw_csv(table)),
             "line": None, "csv_line": None}
            for rec, flag in zip(_records(RAW[table]), FLAGS[table], strict=True) if flag != "valid"
        ]
        assert q.to_pylist() == expected
    orders_q = pq.read_table(silver.quarantine_parquet("orders")).to_pylist()
    assert orders_q[2]["total_amount"] == "-25.50"
    assert orders_q[7]["order_date"] == "2024-13-45"
    assert orders_q[-1]["order_date"] == "not-a-date"


def test_quality_report_counts(silver: DataPaths) -> None:
    report = json.loads(silver.quality_report.read_text())
    assert report["run_id"] == "r1" and report["passed"] is False
    assert report["generated_at"] == "2026-11-26T12:05:00Z"
    assert report["tables"]["customers"] == {
        "raw_rows": 8, "bronze_rows": 8, "valid_rows": 3, "quarantined_rows": 5, "passed": False,
        "checks": {"duplicate_customer_id": 1, "invalid_email": 1, "invalid_segment": 1, "null_key": 1,
                   "unparseable_date": 1},
        "reasons": {"duplicate_customer_id": 1, "invalid_email": 1, "invalid_segment:Gold": 1,
                    "null_key:customer_id": 1, "unparseable_date:registration_date": 1},
    }
    assert report["tables"]["products"]["checks"] == {
        "invalid_category": 1, "invalid_number": 1, "nonpositive_price": 1}
    orders = report["tables"]["orders"]
    assert (orders["raw_rows"], orders["bronze_rows"], orders["valid_rows"], orders["quarantined_rows"]) == (
        19, 19, 6, 13)
    assert orders["checks"] == {
        "duplicate_order_id": 1, "invalid_payment_method": 1, "invalid_status": 1, "negative_amount": 1,
        "nonpositive_quantity": 1, "null_key": 2, "orphan_customer_id": 2, "orphan_product_id": 2,
        "unparseable_date": 2,
    }


def test_clean_input_passes_the_report(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    clean = {t: "\n".join(line for line, flag in zip(RAW[t].splitlines()[1:], FLAGS[t], strict=True)
                          if flag == "valid") for t in RAW}
    _write_raw(paths, **{t: ",".join(RAW_COLUMNS[t]) + "\n" + clean[t] + "\n" for t in RAW})
    ingest_to_bronze(paths, run_id="r2")
    result = validate_data_quality(paths, run_id="r2")
    assert result.outputs["quality_failures"] == 0
    report = json.loads(paths.quality_report.read_text())
    assert report["passed"] is True
    assert pq.read_table(paths.quarantine_parquet("orders")).num_rows == 0


def test_validate_detects_counts_that_do_not_reconcile(silver: DataPaths) -> None:
    # bronze rewritten with one row fewer than the raw file: raw != bronze must fail loudly
    (part,) = parts(silver.bronze_parquet("orders"))  # bronze is a parted table: one part per full run
    t = pq.read_table(part)
    pq.write_table(t.slice(0, t.num_rows - 1), part)
    with pytest.raises(DataError, match="orders: counts do not reconcile: raw 19, bronze 18"):
        validate_data_quality(silver, run_id="r1")


def test_validate_detects_bronze_flags_that_differ_from_the_staged_rows(silver: DataPaths) -> None:
    # same number of flagged rows, but one reason changed behind ingest's back
    (part,) = parts(silver.bronze_parquet("customers"))
    t = pq.read_table(part)
    flags = [("invalid_segment:Platinum" if f == "invalid_email" else f)
             for f in t.column("data_quality_flag").to_pylist()]
    index = t.schema.get_field_index("data_quality_flag")
    tampered = t.set_column(index, "data_quality_flag", pa.array(flags))
    pq.write_table(tampered, part)
    with pytest.raises(DataError, match="customers: quarantined reasons .* do not match bronze flags"):
        validate_data_quality(silver, run_id="r1")


# ---------------------------------------------------------------- silver
def test_silver_rows(silver: DataPaths) -> None:
    t = pq.read_table(silver.silver_orders)
    assert t.schema.remove_metadata().equals(SILVER_ORDERS_ENRICHED)
    rows = _rows(silver.silver_orders, "order_id")
    assert [r["order_id"] for r in rows] == [1, 2, 3, 5, 16]  # cancelled order 4 dropped
    assert rows[0] == {
        "order_id": 1, "customer_id": 1, "product_id": 10, "order_date": date(2026, 11, 23), "quantity": 2,
        "total_amount": Decimal("51.00"), "status": "completed", "payment_method": "Credit Card",
        "customer_segment": "Premium", "city": "Austin", "state": "TX", "product_name": "Blue Lamp",
        "category": "Home", "unit_price": Decimal("25.50"), "revenue": Decimal("51.00"),
        "order_year": 2026, "order_month": 11, "order_day": 23, "order_dow": 1, "order_quarter": 4,
    }
    assert [(r["order_dow"], r["order_quarter"]) for r in rows] == [(1, 4), (1, 4), (7, 4), (6, 1), (6, 1)]
    assert [r["status"] for r in rows] == ["completed", "pending", "completed", "completed", "completed"]
    assert [r["revenue"] for r in rows] == [r["total_amount"] for r in rows]


def test_silver_needs_bronze(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="run ingest_to_bronze first"):
        transform_to_silver(DataPaths(tmp_path / "nothing"))


# ---------------------------------------------------------------- gold
def test_gold_tables(silver: DataPaths) -> None:
    result = aggregate_to_gold(silver, run_id="r1")
    assert dict(result.rows) == {"gold.daily_sales": 3, "gold.customer_metrics": 3,
                                 "gold.product_performance": 3, "gold.regional_sales": 2}
    for table, schema in GOLD.items():
        assert pq.read_schema(silver.gold_parquet(table)).remove_metadata().equals(schema)
    d = Decimal
    assert _rows(silver.gold_parquet("daily_sales")) == [
        {"date": date(2026, 2, 14), "num_orders": 2, "total_revenue": d("2011.98"), "unique_customers": 2,
         "avg_order_value": d("1005.99")},
        # 1050.99 / 2 = 525.495 -> half-up 525.50
        {"date": date(2026, 11, 23), "num_orders": 2, "total_revenue": d("1050.99"), "unique_customers": 1,
         "avg_order_value": d("525.50")},
        {"date": date(2026, 11, 29), "num_orders": 1, "total_revenue": d("36.00"), "unique_customers": 1,
         "avg_order_value": d("36.00")},
    ]
    assert _rows(silver.gold_parquet("customer_metrics")) == [
        {"customer_id": 1, "customer_segment": "Premium", "total_orders": 2, "lifetime_value": d("1050.99"),
         "first_order_date": date(2026, 11, 23), "last_order_date": date(2026, 11, 23), "days_active": 0},
        {"customer_id": 2, "customer_segment": "Standard", "total_orders": 2, "lifetime_value": d("2035.98"),
         "first_order_date": date(2026, 2, 14), "last_order_date": date(2026, 11, 29), "days_active": 288},
        {"customer_id": 3, "customer_segment": "Basic", "total_orders": 1, "lifetime_value": d("12.00"),
         "first_order_date": date(2026, 2, 14), "last_order_date": date(2026, 2, 14), "days_active": 0},
    ]
    assert _rows(silver.gold_parquet("product_performance")) == [
        {"product_id": 10, "product_name": "Blue Lamp", "category": "Home", "num_orders": 1, "units_sold": 2,
         "total_revenue": d("51.00")},
        {"product_id": 11, "product_name": "Red Laptop", "category": "Electronics", "num_orders": 2,
         "units_sold": 3, "total_revenue": d("2999.97")},
        {"product_id": 12, "product_name": "Old Novel", "category": "Books", "num_orders": 2, "units_sold": 4,
         "total_revenue": d("48.00")},
    ]
    assert _rows(silver.gold_parquet("regional_sales")) == [
        {"state": "FL", "num_orders": 1, "total_revenue": d("12.00"), "unique_customers": 1},
        {"state": "TX", "num_orders": 4, "total_revenue": d("3086.97"), "unique_customers": 2},
    ]


def test_kpi_report(silver: DataPaths) -> None:
    aggregate_to_gold(silver)
    result = generate_report(silver, run_id="r1", generated_at=datetime(2026, 11, 26, 13, 0, 0))
    expected = {
        "total_revenue": "3098.97", "total_orders": 5, "avg_order_value": "619.79",  # 619.794
        "total_customers": 3, "run_id": "r1", "generated_at": "2026-11-26T13:00:00Z",
    }
    assert json.loads(silver.kpi_report.read_text()) == expected
    assert result.outputs["kpis"] == expected


# ---------------------------------------------------------------- progress, cancellation, task table
def test_progress_events(paths: DataPaths) -> None:
    rec = Recorder()
    ingest_to_bronze(paths, run_id="r1", progress=rec)
    kinds = [e.kind for e in rec.events]
    assert kinds == ["start"] + ["advance"] * 6 + ["finish"]
    assert {(e.phase, e.task) for e in rec.events} == {(1, "ingest_to_bronze")}
    assert [e.done for e in rec.events if e.kind == "advance"] == [1, 2, 3, 4, 5, 6]
    assert rec.events[-1].done == rec.events[-1].total == 6


def test_cancelled_token_stops_the_task(paths: DataPaths) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        ingest_to_bronze(paths, run_id="r1", cancel=token)
    assert not paths.bronze_parquet("customers").exists()


def test_cancel_between_statements(paths: DataPaths) -> None:
    token = CancelToken()

    class CancelAfterFirstStep(Recorder):
        def emit(self, event: ProgressEvent) -> None:
            super().emit(event)
            if event.kind == "advance":
                token.cancel()

    rec = CancelAfterFirstStep()
    with pytest.raises(CancelledError):
        ingest_to_bronze(paths, run_id="r1", progress=rec, cancel=token)
    assert [e.kind for e in rec.events] == ["start", "advance"]
    assert not paths.bronze_parquet("customers").exists()


def _staged(paths: DataPaths) -> list[str]:
    return sorted(f.name for f in (paths.outputs / "staging").iterdir())


def test_ingest_leaves_only_the_flagged_rows_in_staging(paths: DataPaths) -> None:
    # customers and orders repeat a key (their raw rows are numbered into a staging Parquet), products
    # only has flagged rows: bronze is written from one scan, no staging copy
    ingest_to_bronze(paths, run_id="r1", ingested_at=T_INGEST)
    assert _staged(paths) == [f"{t}_flagged.parquet" for t in ("customers", "orders", "products")]


def test_cancel_while_rewriting_bronze_removes_the_staging_files(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = CancelToken()
    plain = _duck.TaskContext.copy_to_parquet

    def copy(self: _duck.TaskContext, select: str, path: Path, metadata: dict[str, str] | None = None) -> int:
        if path.parent.name == "orders.parquet":  # orders' numbered rows are staged: cancel the rewrite
            assert "orders_raw.parquet" in _staged(paths) and "orders_bronze.parquet" in _staged(paths)
            token.cancel()
        return plain(self, select, path, metadata)

    monkeypatch.setattr(_duck.TaskContext, "copy_to_parquet", copy)
    with pytest.raises(CancelledError):
        ingest_to_bronze(paths, run_id="r1", ingested_at=T_INGEST, cancel=token)
    assert _staged(paths) == ["customers_flagged.parquet", "products_flagged.parquet"]
    assert not [f for f in paths.outputs.rglob("*.tmp")]


def test_phase1_task_table() -> None:
    assert [name for name, _, _ in PHASE1_TASKS] == [
        "generate_sample_data", "ingest_to_bronze", "validate_data_quality", "transform_to_silver",
        "aggregate_to_gold", "generate_report",
    ]
    assert all(desc and fn.__name__ == name for name, desc, fn in PHASE1_TASKS)
