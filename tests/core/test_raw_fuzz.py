"""Hypothesis fuzzing of raw orders CSVs: wrong column counts, bad encodings, extreme and negative
numbers, odd dates, quotes and injection-like strings. Phase 1's ingest and validate never crash: a
whole-file problem is one DataError line naming the file; otherwise every input row is in bronze,
valid or quarantined with a reason."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lakehouse_core.errors import DataError
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline import ingest_to_bronze, validate_data_quality
from tests.core.test_phase1_tasks import CUSTOMERS, ORDERS, PRODUCTS

HEADER = ORDERS.splitlines()[0]
NASTY = [
    "", " ", "0", "-1", "1.5", "1e3", "0x10", "1_000", "9223372036854775807", "-9223372036854775808",
    "99999999999999999999", "10.005", "-0.00", "NaN", "inf", "infinity", "epoch", "1-01-01 (BC)",
    "294276-01-01", "2024-02-30", "2026-11-23", "completed", "PayPal", "Credit Card", "'; DROP TABLE x; --",
    "${table}", "=cmd|' /C calc'!A0", "[bold]hi[/]", "\\N", "NULL", "\u00a01", "١٢", "é", "\u202e",
    "read_csv('/etc/passwd')",
]
GOOD = {"order_id": "1", "customer_id": "1", "product_id": "10", "order_date": "2026-11-23", "quantity": "2",
        "total_amount": "51.00", "status": "completed", "payment_method": "Credit Card"}
field_text = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n,\""),
            max_size=12),
)


@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    """One CSV line: mostly 8 fields (some good, some nasty), sometimes fewer or more, maybe quoted."""
    n = draw(st.sampled_from([8] * 6 + [1, 5, 7, 9, 12]))
    fields = [draw(st.one_of(st.just(list(GOOD.values())[i % 8]), field_text)) for i in range(n)]
    if draw(st.integers(0, 9)) == 0:  # a quoted field, maybe with a comma, a quote or a line break
        i = draw(st.integers(0, n - 1))
        inner = draw(st.sampled_from(['a,b', 'say ""hi""', "two\nlines", "x"]))
        fields[i] = f'"{inner}"'
    return fields


@st.composite
def raw_files(draw: st.DrawFn) -> tuple[bytes, int]:
    """(file bytes, data lines it was built from)."""
    lines = draw(st.lists(rows(), min_size=0, max_size=25))
    text = HEADER + "\n" + "".join(",".join(f) + "\n" for f in lines)
    kind = draw(st.sampled_from(["utf-8"] * 8 + ["bad byte", "utf-16", "semicolon", "latin-1"]))
    if kind == "utf-16":
        return text.encode("utf-16"), len(lines)
    if kind == "semicolon":
        return text.replace(",", ";").encode(), len(lines)
    data = text.encode("latin-1", "replace") if kind == "latin-1" else text.encode()
    if kind == "bad byte" and lines:
        at = draw(st.integers(len(HEADER) + 1, len(data) - 1))
        data = data[:at] + b"\xff" + data[at:]
    return data, len(lines)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw_files())
def test_fuzzed_raw_orders_never_crash_and_reconcile(raw: tuple[bytes, int]) -> None:
    content, lines = raw
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp) / "data").ensure()
        paths.raw_csv("customers").write_text(CUSTOMERS)
        paths.raw_csv("products").write_text(PRODUCTS)
        orders = paths.raw_csv("orders")
        orders.write_bytes(content)
        try:
            ingest_to_bronze(paths, run_id="fuzz")
        except DataError as exc:  # a whole-file problem: one line naming the file and the line
            text = str(exc)
            assert "\n" not in text and len(text) < 400, text
            assert text.startswith(f"{orders}: line "), text
            event("whole-file problem")
            return
        validate_data_quality(paths, run_id="fuzz")  # DataError unless raw = bronze = valid + quarantined
        report = json.loads(paths.quality_report.read_text())["tables"]["orders"]
        valid, quarantined = report["valid_rows"], report["quarantined_rows"]
        assert report["raw_rows"] == report["bronze_rows"] == valid + quarantined
        if b'"' not in content:  # without quotes every non-blank data line is one row
            data_lines = content.decode("utf-8", "replace").split("\n")[1:]
            assert report["raw_rows"] == sum(1 for line in data_lines if line.strip()) <= lines
        quarantine = pq.read_table(paths.quarantine_parquet("orders")).to_pylist()
        assert len(quarantine) == report["quarantined_rows"]
        assert all(q["reason"] and q["source_file"] == str(orders) for q in quarantine)
        malformed = [q for q in quarantine if q["reason"].startswith("malformed_row:")]
        event("a malformed row" if malformed else "quarantined rows" if quarantine else "all valid")
        assert all(q["line"] and q["line"] >= 2 for q in malformed)
