"""Raw data is the user's (what phase 1 reads, when it generates) and strict typing at bronze."""

from __future__ import annotations

import errno
import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse_core.cli import main
from lakehouse_core.errors import DataError, PhaseFailed
from lakehouse_core.paths import TABLES, DataPaths
from lakehouse_core.phases import run_phase1
from lakehouse_core.pipeline import (
    PHASE1_TASKS,
    generate_sample_data,
    ingest_to_bronze,
    validate_data_quality,
)
from lakehouse_core.pipeline import generate as generate_module
from lakehouse_core.settings import BronzeChecks, LakehouseSettings
from tests.core.test_phase1_tasks import CUSTOMERS, ORDERS, PRODUCTS

HEADER = ORDERS.splitlines()[0]
CHECKS = BronzeChecks(date_max=date(2026, 12, 31))


def _order(order_id: str = "1", customer: str = "1", product: str = "10", day: str = "2026-11-23",
           quantity: str = "1", total: str = "25.50") -> str:
    return f"{order_id},{customer},{product},{day},{quantity},{total},completed,PayPal"


def _write(paths: DataPaths, orders: str | bytes, name: str = "orders.csv") -> None:
    paths.ensure()
    paths.raw_csv("customers").write_text(CUSTOMERS)
    paths.raw_csv("products").write_text(PRODUCTS)
    target = paths.raw / name
    target.write_bytes(orders if isinstance(orders, bytes) else orders.encode())


def _flags(paths: DataPaths) -> dict[int, str]:
    rows = pq.read_table(paths.bronze_parquet("orders")).to_pylist()
    return {r["order_id"]: r["data_quality_flag"] for r in rows if r["order_id"] is not None}


# ---------------------------------------------------------------- strict typing
STRICT_CASES = [
    (_order(quantity="1.5"), "invalid_integer:quantity"),
    (_order(quantity="2.5"), "invalid_integer:quantity"),
    (_order(quantity="1e3"), "invalid_integer:quantity"),
    (_order(quantity="0x10"), "invalid_integer:quantity"),
    (_order(quantity="0b11"), "invalid_integer:quantity"),
    (_order(quantity="1_000"), "invalid_integer:quantity"),
    (_order(quantity="9223372036854775808"), "invalid_integer:quantity"),
    (_order(product="7.9"), "invalid_integer:product_id"),
    (_order(total="10.005"), "invalid_amount:total_amount"),
    (_order(total="1e3"), "invalid_amount:total_amount"),
    (_order(order_id="-5"), "invalid_id:order_id"),
    (_order(order_id="0"), "invalid_id:order_id"),
    (_order(customer="-1"), "invalid_id:customer_id"),
    (_order(day="infinity"), "unparseable_date:order_date"),
    (_order(day="-infinity"), "unparseable_date:order_date"),
    (_order(day="epoch"), "unparseable_date:order_date"),
    (_order(day="1-01-01 (BC)"), "unparseable_date:order_date"),
    (_order(day="294276-01-01"), "unparseable_date:order_date"),
    (_order(day="1999-12-31"), "date_out_of_range:order_date"),
    (_order(day="2027-01-01"), "date_out_of_range:order_date"),
    (_order(quantity="9223372036854775807"), "quantity_out_of_range"),
    (_order(quantity="10001"), "quantity_out_of_range"),
]


def test_each_value_is_quarantined_with_its_reason_and_gold_still_builds(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    lines = [_order(order_id="1")]  # the control row
    lines += [line if line.startswith(("-5,", "0,")) else f"{100 + i}{line[1:]}"
              for i, (line, _) in enumerate(STRICT_CASES)]
    _write(paths, "\n".join([HEADER, *lines]) + "\n")
    ingest_to_bronze(paths, run_id="strict", checks=CHECKS)
    validate_data_quality(paths, run_id="strict")
    quarantined = pq.read_table(paths.quarantine_parquet("orders")).to_pylist()
    assert [(q["quantity"], q["product_id"], q["total_amount"], q["order_date"], q["reason"])
            for q in quarantined] == [
        (line.split(",")[4], line.split(",")[2], line.split(",")[5], line.split(",")[3], reason)
        for line, reason in STRICT_CASES]
    bronze = pq.read_table(paths.bronze_parquet("orders")).to_pylist()
    assert [r["order_id"] for r in bronze if r["data_quality_flag"] == "valid"] == [1]
    rounded = [r for r in bronze if r["data_quality_flag"].startswith(("invalid_integer", "invalid_amount"))]
    assert all(r["quantity"] is None or r["total_amount"] is None or r["product_id"] is None for r in rounded)
    for _name, _, task in PHASE1_TASKS[3:]:  # silver, gold, report: no overflow, no INT128 error
        task(paths, run_id="strict")
    assert json.loads(paths.kpi_report.read_text())["total_orders"] == 1


def test_ranges_come_from_the_settings(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    _write(paths, "\n".join([HEADER, _order("1", quantity="3"), _order("2", quantity="50"),
                             _order("3", day="2023-12-31")]) + "\n")
    checks = BronzeChecks(quantity_max=10, date_min=date(2024, 1, 1), date_max=date(2026, 12, 1))
    ingest_to_bronze(paths, run_id="r", checks=checks)
    assert _flags(paths) == {1: "valid", 2: "quantity_out_of_range", 3: "date_out_of_range:order_date"}


# ---------------------------------------------------------------- malformed rows, alone
MALFORMED = {
    "extra field": (b"7,1,10,2026-11-23,1,25.50,completed,PayPal,extra,x\n",
                    "malformed_row:TOO MANY COLUMNS: Expected Number of Columns: 8 Found: 10"),
    "unterminated quote": (b'7,1,10,2026-11-23,1,"25.50,completed,PayPal\n',
                           "malformed_row:UNQUOTED VALUE: Value with unterminated quote found."),
    "invalid UTF-8": (b"7,1,10,2026-11-23,1,25.50,compl\xffeted,PayPal\n",
                      "malformed_row:INVALID ENCODING: the line is not valid UTF-8"),
    "20 MB field": (b"7,1,10,2026-11-23,1,25.50,completed," + b"x" * 20_000_000 + b"\n",
                    "malformed_row:LINE SIZE OVER MAXIMUM: Maximum line size of 2000000 bytes exceeded."),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_row_is_quarantined_alone(tmp_path: Path, case: str) -> None:
    bad, reason = MALFORMED[case]
    paths = DataPaths(tmp_path / "data")
    good = [_order(str(i)).encode() + b"\n" for i in (1, 2, 3, 4, 5)]
    _write(paths, HEADER.encode() + b"\n" + b"".join(good[:3]) + bad + b"".join(good[3:]))
    result = ingest_to_bronze(paths, run_id="m", checks=CHECKS)
    assert result.rows["raw.orders"] == result.rows["bronze.orders"] == 6
    assert _flags(paths) == {i: "valid" for i in (1, 2, 3, 4, 5)}
    validate_data_quality(paths, run_id="m")
    (q,) = pq.read_table(paths.quarantine_parquet("orders")).to_pylist()
    assert q["reason"].startswith(reason)
    assert (q["line"], q["source_file"]) == (5, str(paths.raw_csv("orders")))
    assert q["csv_line"].startswith("7,1,10,2026-11-23,1,")
    report = json.loads(paths.quality_report.read_text())["tables"]["orders"]
    assert (report["raw_rows"], report["valid_rows"], report["quarantined_rows"]) == (6, 5, 1)
    assert report["checks"] == {"malformed_row": 1}


# ---------------------------------------------------------------- whole-file problems, one line
WHOLE_FILE = {
    "semicolons": ((HEADER + "\n" + _order() + "\n").replace(",", ";").encode(),
                   "line 1: fields are separated by ';'"),
    "semicolon rows": ((HEADER + "\n" + _order().replace(",", ";") + "\n").encode(),
                       "line 2: fields are separated by ';'"),
    "UTF-16": ((HEADER + "\n" + _order() + "\n").encode("utf-16"), "line 1: UTF-16"),
    "no header": ((_order() + "\n" + _order("2") + "\n").encode(), "line 1: unexpected CSV header 1,1,10"),
    "empty": (b"", "line 1: empty file"),
    "latin-1 header": (HEADER.replace("order_id", "ordér_id").encode("latin-1") + b"\n",
                       "line 1: the header"),
}


@pytest.mark.parametrize("case", list(WHOLE_FILE))
def test_a_whole_file_problem_is_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    content, message = WHOLE_FILE[case]
    paths = DataPaths(tmp_path / "data")
    _write(paths, content, name="orders-2026.csv")
    with pytest.raises(DataError) as err:
        ingest_to_bronze(paths, run_id="w")
    text = str(err.value)
    assert "\n" not in text and len(text) < 400
    assert text.startswith(f"{paths.raw / 'orders-2026.csv'}: {message}")


# ---------------------------------------------------------------- several files per table
def test_every_raw_file_of_a_table_is_ingested_with_its_source_file(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    _write(paths, "\n".join([HEADER, _order("1"), _order("2")]) + "\n")
    (paths.raw / "orders-2026-12.csv").write_text("\n".join([HEADER, _order("3"), _order("1")]) + "\n")
    (paths.raw / "notes.txt").write_text("not raw data")
    result = ingest_to_bronze(paths, run_id="multi", checks=CHECKS)
    assert result.rows["raw.orders"] == 4
    rows = pq.read_table(paths.bronze_parquet("orders")).to_pylist()
    got = sorted((r["order_id"], Path(r["source_file"]).name, r["data_quality_flag"]) for r in rows)
    # orders.csv is read first, then the others by name: the repeated key 1 is the later line
    assert got == [(1, "orders-2026-12.csv", "duplicate_order_id"), (1, "orders.csv", "valid"),
                   (2, "orders.csv", "valid"), (3, "orders-2026-12.csv", "valid")]
    assert paths.raw_files("orders") == [paths.raw / "orders.csv", paths.raw / "orders-2026-12.csv"]


# ---------------------------------------------------------------- generation only when asked
def _settings(data: Path, **kw: object) -> LakehouseSettings:
    return LakehouseSettings(data_dir=data, phase_isolation="thread", orders=300, **kw)  # type: ignore[arg-type]


def test_phase1_reads_the_users_raw_data_and_never_regenerates_it(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    _write(paths, "\n".join([HEADER, _order("1"), _order("2", quantity="1.5")]) + "\n")
    before = {p.name: p.read_bytes() for p in paths.raw.iterdir()}
    settings = _settings(paths.root)
    from lakehouse_core.phases.definitions import phase1_details

    details = phase1_details(settings)
    assert details[0].startswith("raw: will read 3 files (") and "generating nothing" in details[0]
    assert any("orders.csv (" in d for d in details)
    result = run_phase1(settings, run_id="user")
    assert {p.name: p.read_bytes() for p in paths.raw.iterdir()} == before
    assert result.tasks[0].detail.startswith("using 3 existing raw files (")
    assert result.rows_per_layer["raw.orders"] == 2 and result.rows_per_layer["quarantine.orders"] == 1


def test_phase1_generates_into_an_empty_raw_dir_and_as_the_setting_says(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    from lakehouse_core.phases.definitions import phase1_details

    assert phase1_details(settings)[0].startswith("raw: will generate 300 orders")
    result = run_phase1(settings, run_id="gen")
    assert result.rows_per_layer["raw.orders"] == 300
    paths = DataPaths(settings.data_path)
    (paths.raw / "orders-extra.csv").write_text(HEADER + "\n" + _order("9999") + "\n")
    always = _settings(tmp_path / "data", generate="always")
    assert "will REPLACE 4 existing files" in phase1_details(always)[1]
    run_phase1(always, run_id="again")
    assert sorted(p.name for p in paths.raw.iterdir()) == ["customers.csv", "orders.csv", "products.csv"]
    for table in TABLES:
        paths.raw_csv(table).unlink()
    with pytest.raises(PhaseFailed, match="missing input"):
        run_phase1(_settings(tmp_path / "data", generate="never"), run_id="never")


def test_lakehouse_generate_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "generate", "--orders", "50"]) == 0
    before = (tmp_path / "data" / "raw" / "orders.csv").read_bytes()
    capsys.readouterr()
    assert main(["-q", "generate", "--orders", "80"]) == 1
    err = " ".join(capsys.readouterr().err.split())  # one message (the console wraps long lines)
    assert err.startswith("error: ")
    assert err.endswith("already holds 3 raw CSVs: pass --overwrite to replace them")
    assert (tmp_path / "data" / "raw" / "orders.csv").read_bytes() == before
    assert main(["-q", "generate", "--orders", "80", "--overwrite"]) == 0
    assert sum(1 for _ in (tmp_path / "data" / "raw" / "orders.csv").open()) == 81


def test_a_failed_generation_leaves_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = DataPaths(tmp_path / "data")
    generate_sample_data(paths, orders=200, seed=1)
    before = {p.name: p.read_bytes() for p in paths.raw.iterdir()}

    def disk_full(*_args: object, **_kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(generate_module, "_orders_chunk", disk_full)
    with pytest.raises(DataError, match=r"cannot write raw CSVs in .*: No space left on device$"):
        generate_sample_data(paths, orders=300, seed=2, generate="always")
    assert {p.name: p.read_bytes() for p in paths.raw.iterdir()} == before  # no temp file left either


@pytest.mark.parametrize("block", [4099, 8191])
def test_utf8_check_across_blocks(tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small blocks: characters split between blocks are still UTF-8; a bad line far from the start
    is found with its line number, its neighbours untouched."""
    from lakehouse_core.pipeline import raw
    from lakehouse_core.schemas import RAW_COLUMNS

    monkeypatch.setattr(raw, "BLOCK", block)
    rows = (_order(str(i)).replace("PayPal", "PayPal-\u00e9\u20ac\U0001f600") for i in range(1, 3001))
    good = (HEADER + "\n" + "\n".join(rows) + "\n").encode("utf-8")
    cuts = [k * block for k in range(1, len(good) // block + 1)]
    assert any(0x80 <= good[k] < 0xC0 for k in cuts), "no block boundary splits a character"
    path = tmp_path / "orders.csv"
    path.write_bytes(good)
    assert raw.check_file(path, RAW_COLUMNS["orders"]) == []
    lines = good.split(b"\n")
    lines[2500] = lines[2500].replace(b"\xc3\xa9", b"\xc3")  # line 2501: a lead byte without its continuation
    path.write_bytes(b"\n".join(lines))
    bad = raw.check_file(path, RAW_COLUMNS["orders"])
    assert [(b.line, b.reason) for b in bad] == [(2501, raw.INVALID_UTF8)]
    assert bad[0].text.startswith("2500,1,10,")
