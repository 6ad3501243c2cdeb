"""lakehouse_core.sqlparse: statements split by sqlglot's tokenizer, classified by DuckDB's parser,
the tables a statement names from sqlglot's syntax tree."""

from __future__ import annotations

import pytest

from lakehouse_core.sqlparse import (
    Statement,
    is_read_only,
    qualified_names,
    replace_spans,
    split_statements,
    statement_kind,
    table_refs,
)
from tui.sqltext import statement_at


def _sqls(script: str) -> list[str]:
    return [s.sql for s in split_statements(script)]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("SELECT 1 /* a; b */ + 2;", ["SELECT 1 /* a; b */ + 2"]),
        (
            "SELECT 1 /* a /* nested; */ still; */ + 2; SELECT 3",
            ["SELECT 1 /* a /* nested; */ still; */ + 2", "SELECT 3"],
        ),
        ("SELECT 1 -- a; b\n + 2; SELECT 3", ["SELECT 1 -- a; b\n + 2", "SELECT 3"]),
        ("SELECT 'a;b', 'it''s; \"x;\"' ; SELECT 2", ["SELECT 'a;b', 'it''s; \"x;\"'", "SELECT 2"]),
        ('SELECT "odd;""name" FROM t; SELECT 2', ['SELECT "odd;""name" FROM t', "SELECT 2"]),
        ("SELECT $$a;b$$, $tag$ c; 'd $tag$; SELECT 2", ["SELECT $$a;b$$, $tag$ c; 'd $tag$", "SELECT 2"]),
        (
            "EXPLAIN SELECT 'a;b'; CALL f('c;d'); SELECT 3",
            ["EXPLAIN SELECT 'a;b'", "CALL f('c;d')", "SELECT 3"],
        ),
        (";;  SELECT 1 ; ; -- only a comment;\n ;", ["SELECT 1"]),
        ("SELECT 1;\n\nSELECT 2", ["SELECT 1", "SELECT 2"]),  # trailing text without ";"
        ("  \n -- nothing\n /* at all */ ", []),
        ("", []),
    ],
)
def test_split_statements(script: str, expected: list[str]) -> None:
    assert _sqls(script) == expected


def test_statement_spans_index_the_script() -> None:
    script = "  SELECT 1 ;\n-- lead\nSELECT 2"
    statements = split_statements(script)
    assert statements == [Statement(2, 10, "SELECT 1"), Statement(13, 29, "-- lead\nSELECT 2")]
    assert all(script[s.start : s.end] == s.sql for s in statements)


def test_unterminated_text_runs_to_the_end_and_does_not_raise() -> None:
    assert _sqls("SELECT 1; SELECT 'open; SELECT 3") == ["SELECT 1", "SELECT 'open; SELECT 3"]
    assert _sqls("SELECT 1; SELECT 2 /* open; SELECT 3") == ["SELECT 1", "SELECT 2 /* open; SELECT 3"]
    assert _sqls('SELECT "open; 1') == ['SELECT "open; 1']


def test_an_invalid_statement_is_still_a_statement() -> None:
    assert _sqls("SELECT 1; SELEC oops FROM; SELECT 3") == ["SELECT 1", "SELEC oops FROM", "SELECT 3"]
    assert statement_kind("SELEC oops FROM") is None
    assert not is_read_only("SELEC oops FROM")


CURSOR_SCRIPT = "SELECT 1;  \nSELECT 2 /* a; b */;\n\n-- about three\nSELECT 3"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ((0, 0), "SELECT 1"),
        ((0, 8), "SELECT 1"),  # just before ";"
        ((0, 9), "SELECT 1"),  # just after ";"
        ((0, 11), "SELECT 1"),  # end of that line
        ((1, 0), "SELECT 2 /* a; b */"),  # next line
        ((1, 13), "SELECT 2 /* a; b */"),  # inside the comment, after its ";"
        ((1, 20), "SELECT 2 /* a; b */"),  # end of line, after ";"
        ((2, 0), "-- about three\nSELECT 3"),  # blank line before the next statement
        ((3, 3), "-- about three\nSELECT 3"),
        ((4, 8), "-- about three\nSELECT 3"),
        ((99, 99), "-- about three\nSELECT 3"),  # beyond the text
    ],
)
def test_statement_at_boundaries(location: tuple[int, int], expected: str) -> None:
    assert statement_at(CURSOR_SCRIPT, location) == expected


def test_statement_at_after_the_last_statement_and_in_empty_text() -> None:
    assert statement_at("SELECT 1;\n\n-- done\n", (3, 0)) == "SELECT 1"
    assert statement_at("-- nothing", (0, 3)) == ""
    assert statement_at("SELECT 1; SELEC", (0, 14)) == "SELEC"  # incomplete: still runs, DuckDB reports


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  -- lead\n with t as (select 1) select * from t",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "VALUES (1)",
        "FROM range(3)",
        "SHOW TABLES",
        "DESCRIBE SELECT 1",
        "SUMMARIZE SELECT 1",
        "EXPLAIN SELECT 1",
        "EXPLAIN INSERT INTO t SELECT 1",  # not run without ANALYZE
        "EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN (ANALYZE, FORMAT json) SELECT 1",
        "PRAGMA version",
        "PRAGMA table_info('t')",
        "PRAGMA show_tables",
        "SELECT 1; SELECT 2",
        "SELECT 'nextval(1)', \"setval\" FROM t -- nextval('s')",
    ],
)
def test_read_only_kinds(sql: str) -> None:
    assert is_read_only(sql), sql


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "/* only */ -- comments",
        "COPY t TO 'x.csv'",
        "COPY (SELECT 1) TO 'x.parquet'",
        "ATTACH 'x.db'",
        "DETACH x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "CREATE TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "TRUNCATE t",
        "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
        "DROP TABLE t",
        "ALTER TABLE t ADD COLUMN b INT",
        "SET threads = 1",
        "RESET threads",
        "USE memory",
        "PRAGMA threads = 4",
        "CALL pg_sleep(1)",
        "CHECKPOINT",
        "BEGIN",
        "EXPORT DATABASE 'x'",
        "EXPLAIN ANALYZE INSERT INTO t SELECT 1",
        "EXPLAIN (FORMAT json, ANALYZE) DELETE FROM t",
        "SELECT nextval('seq')",
        "SELECT 1; DROP TABLE t",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",  # DuckDB cannot parse it
    ],
)
def test_not_read_only_kinds(sql: str) -> None:
    assert not is_read_only(sql), sql


def test_statement_kind_comes_from_duckdb() -> None:
    assert statement_kind("SHOW TABLES") == "SELECT"
    assert statement_kind("PRAGMA version") == "SELECT"
    assert statement_kind("PRAGMA threads = 4") == "SET"
    assert statement_kind("COPY t TO 'x'") == "COPY"
    assert statement_kind("INSTALL httpfs") == "LOAD"
    assert statement_kind("SELECT 1; SELECT 2") == "MULTI"
    assert statement_kind("") is None


def test_table_refs_positions_cases_and_versions() -> None:
    sql = (
        'SELECT * FROM Bronze . ORDERS o JOIN "Gold"."Daily_Sales" VERSION AS OF 7 AS d ON true, '
        "memory.silver.items FOR VERSION AS OF 8, read_parquet('x.parquet')"
    )
    refs = table_refs(sql, "duckdb")
    assert refs is not None
    assert [(r.namespace, r.name, r.version) for r in refs] == [
        ("bronze", "orders", None),
        ("Gold", "Daily_Sales", 7),
        ("silver", "items", 8),
    ]
    assert [sql[r.start : r.end] for r in refs] == [
        "Bronze . ORDERS",
        '"Gold"."Daily_Sales"',
        "memory.silver.items",
    ]
    assert sql[refs[1].start : refs[1].clause_end] == '"Gold"."Daily_Sales" VERSION AS OF 7'
    assert sql[refs[2].start : refs[2].clause_end] == "memory.silver.items FOR VERSION AS OF 8"


def test_table_refs_leave_out_ctes_literals_and_comments() -> None:
    sql = (
        "WITH orders AS (SELECT * FROM bronze.orders) "
        "SELECT 'gold.daily_sales VERSION AS OF 1' FROM orders /* silver.x */ -- silver.y\n"
        "WHERE id IN (SELECT id FROM (SELECT id FROM silver.orders) s)"
    )
    refs = table_refs(sql, "duckdb")
    assert refs is not None
    assert [(r.namespace, r.name) for r in refs] == [("bronze", "orders"), ("silver", "orders")]


def test_table_refs_mark_from_and_join_tables_and_other_time_travel() -> None:
    refs = table_refs("INSERT INTO a.b (x) SELECT x FROM c.d JOIN e.f ON true", "duckdb")
    assert refs is not None
    assert [(r.name, r.in_from) for r in refs] == [("b", False), ("d", True), ("f", True)]
    refs = table_refs("DELETE FROM a.b USING c.d", "duckdb")
    assert refs is not None and [(r.name, r.in_from) for r in refs] == [("b", False), ("d", False)]
    refs = table_refs("SELECT * FROM a.b AT SNAPSHOT '5'", "dremio")
    assert refs is not None and [(r.time_travel, r.version) for r in refs] == [(True, None)]


def test_table_refs_is_none_when_sqlglot_cannot_parse() -> None:
    assert table_refs("SELEC * FROM a.b", "duckdb") is None
    assert table_refs("EXPLAIN ANALYZE SELECT * FROM a.b", "duckdb") is None  # an opaque command


def test_qualified_names_skip_literals_and_comments() -> None:
    sql = "SELECT 'gold.x', E'gold.y', $$gold.z$$ FROM Bronze . \"Orders\" -- silver.a\n/* silver.b */ o"
    assert qualified_names(sql) == [("bronze", "Orders")]


def test_replace_spans() -> None:
    assert replace_spans("abcdef", [(4, 5, "E"), (0, 2, "AB!"), (3, 3, "+")]) == "AB!c+dEf"
    assert replace_spans("abc", []) == "abc"
