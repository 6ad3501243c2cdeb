"""Pure helpers: statement under cursor, as-of parsing, result summary, export, progress coalescing."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import pytest

from lakehouse_core.models import AsOf, MetricPanel, ProgressEvent, QueryResult
from tui.messages import PhaseProgress
from tui.progress import TuiProgressSink
from tui.sqltext import as_of_text, parse_as_of, statement_at
from tui.widgets.metric_chart import level
from tui.widgets.results_table import result_summary

SQL = "SELECT 1;\nSELECT 'a;b' AS x;\n-- comment\nSELECT 3"


def test_statement_at_cursor_picks_the_statement_under_it() -> None:
    assert statement_at(SQL, (0, 3)) == "SELECT 1"
    assert statement_at(SQL, (1, 5)) == "SELECT 'a;b' AS x"
    assert statement_at(SQL, (3, 0)) == "-- comment\nSELECT 3"
    assert statement_at("SELECT 1;\n", (1, 0)) == "SELECT 1"
    assert statement_at("  \n", (0, 0)) == ""


def test_parse_as_of() -> None:
    assert parse_as_of("") is None
    assert parse_as_of(" 3002 ") == AsOf(snapshot_id=3002)
    assert parse_as_of("2026-01-01T12:00:00") == AsOf(timestamp=datetime(2026, 1, 1, 12))
    assert parse_as_of("audit") == AsOf(ref="audit")


def test_as_of_says_which_is_meant_and_rejects_dates_that_do_not_exist() -> None:
    # a commit hash of digits only: a leading zero or more than an int64 is no snapshot id
    assert parse_as_of("01234567") == AsOf(ref="01234567")
    assert parse_as_of("9" * 20) == AsOf(ref="9" * 20)
    assert parse_as_of("ref:12345678") == AsOf(ref="12345678")
    assert parse_as_of("snapshot:42") == AsOf(snapshot_id=42)
    assert parse_as_of("etl@abc123") == AsOf(ref="etl@abc123")
    for bad, says in (
        ("2020-13-01", "not a valid date or time (month must be in 1..12); a ref of that name is ref:2020"),
        ("2026-02-30T10:00", "day is out of range for month"),
        ("snapshot:x1", "a snapshot id is a positive whole number"),
        ("ref:", "names no ref"),
    ):
        with pytest.raises(ValueError, match=re.escape(says)):
            parse_as_of(bad)
    # what the field shows reads back as the same as-of, refs that look like ids or dates included
    for as_of in (AsOf(ref="12345678"), AsOf(ref="2020-13-01"), AsOf(ref="snapshot:1"), AsOf(ref="main")):
        assert parse_as_of(as_of_text(as_of)) == as_of


def _result(n: int, truncated: bool = False, total: int | None = None) -> QueryResult:
    table = pa.table({"i": list(range(n)), "s": [f"r{i}" for i in range(n)]})
    return QueryResult(
        ("i", "s"), ("INT", "TEXT"), table, "duckdb", 0.25, truncated=truncated, total_rows=total
    )


def test_result_summary_never_hides_truncation() -> None:
    assert result_summary(_result(3), 50, 100) == "3 rows · 250 ms · duckdb"
    assert result_summary(_result(1), 50, 100) == "1 row · 250 ms · duckdb"
    assert result_summary(_result(80), 50, 100) == "showing 50 of 80 rows (display cap 50) · 250 ms · duckdb"
    assert (
        result_summary(_result(100, truncated=True, total=1_000_000), 50, 100)
        == "showing 50 of 1,000,000 rows (fetch limit 100 reached; display cap 50) · 250 ms · duckdb"
    )
    assert (
        result_summary(_result(100, truncated=True), 500, 100)
        == "showing 100 of 100+ rows (fetch limit 100 reached) · 250 ms · duckdb"
    )


class _Collector:
    def __init__(self) -> None:
        self.messages: list[PhaseProgress] = []

    def post_message(self, message: PhaseProgress) -> bool:
        self.messages.append(message)
        return True


def test_progress_sink_throttles_advances_and_keeps_the_last() -> None:
    target = _Collector()
    sink = TuiProgressSink(target, min_interval_s=60)
    sink.emit(ProgressEvent(1, "bronze", "start", 0, 1000))
    for done in range(100, 1000, 100):
        sink.emit(ProgressEvent(1, "bronze", "advance", done, 1000))
    sink.emit(ProgressEvent(1, "bronze", "finish", 1000, 1000))
    kinds = [(m.event.kind, m.event.done) for m in target.messages]
    assert kinds == [("start", 0), ("advance", 100), ("advance", 900), ("finish", 1000)]


def test_progress_messages_coalesce_only_advances_of_one_task() -> None:
    a1 = PhaseProgress(ProgressEvent(1, "a", "advance", 1, 10))
    a2 = PhaseProgress(ProgressEvent(1, "a", "advance", 2, 10))
    b1 = PhaseProgress(ProgressEvent(1, "b", "advance", 1, 10))
    fin = PhaseProgress(ProgressEvent(1, "a", "finish", 10, 10))
    assert (
        a1.can_replace(a2) and not a1.can_replace(b1) and not fin.can_replace(a1) and not a1.can_replace(fin)
    )


def test_threshold_level() -> None:
    panel = MetricPanel("m", "Memory", "q", "%", warn=80, critical=90)
    assert [level(panel, v) for v in (None, 79.9, 80, 91.5)] == ["ok", "ok", "warn", "critical"]


def test_read_only_statements_are_recognised() -> None:
    from lakehouse_core.sqlparse import is_read_only

    for sql in (
        "SELECT * FROM gold.daily_sales",
        "  -- a comment\n  with t as (select 1) select * from t",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "VALUES (1), (2)",
        "SHOW TABLES",
        "DESCRIBE silver.orders",
        "EXPLAIN SELECT 1",
        "FROM range(10)",
        "SELECT 'insert into x' AS text, \"update\" FROM t /* drop */",
        "PRAGMA version",  # DuckDB turns it into SELECT * FROM pragma_version()
    ):
        assert is_read_only(sql), sql
    for sql in (
        "",
        "-- only a comment",
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "CREATE TABLE t AS SELECT 1",
        "DROP TABLE t",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "EXPLAIN ANALYZE INSERT INTO t SELECT 1",
        "SELECT nextval('seq')",
        "SELECT 1; DROP TABLE t",
        "COPY t TO 'x.csv'",
        "CALL pg_sleep(1)",
        "PRAGMA threads = 4",
    ):
        assert not is_read_only(sql), sql
