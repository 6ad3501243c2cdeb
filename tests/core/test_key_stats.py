"""``key_stats`` (the duplicate check of ingest and the key audit) counts distinct integer keys with a
bitmap: on hand-made data it gives exactly COUNT(*), COUNT(key), COUNT(DISTINCT key)."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from lakehouse_core.pipeline import keys
from lakehouse_core.pipeline.keys import key_stats

CASES = {
    "unique ints": "SELECT range::BIGINT AS k FROM range(1, 1001)",
    "a repeated int": "SELECT CASE WHEN range = 500 THEN 7 ELSE range END::BIGINT AS k FROM range(1, 1001)",
    "nulls and negatives": "SELECT * FROM (VALUES (-5::BIGINT), (-5), (0), (NULL), (3), (NULL)) t(k)",
    "one value": "SELECT * FROM (VALUES (42::BIGINT), (42)) t(k)",
    "only nulls": "SELECT * FROM (VALUES (NULL::BIGINT), (NULL)) t(k)",
    "no rows": "SELECT 1::BIGINT AS k WHERE false",
    "a wide range":
        "SELECT * FROM (VALUES (-9000000000000000000::BIGINT), (9000000000000000000), (1), (1)) t(k)",
    "dates":
        "SELECT * FROM (VALUES (DATE '2026-01-01'), (DATE '2026-01-01'), (NULL), (DATE '2026-01-02')) t(k)",
    "text": "SELECT * FROM (VALUES ('CA'), ('NY'), ('CA'), (NULL)) t(k)",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_key_stats_equals_count_distinct(name: str) -> None:
    con = duckdb.connect()
    relation = f"({CASES[name]}) AS t"

    def query(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    expected = con.execute(f"SELECT COUNT(*), COUNT(k), COUNT(DISTINCT k) FROM {relation}").fetchone()
    assert key_stats(query, relation, "k") == expected


def test_wide_integer_ranges_are_hashed_not_bitmapped(monkeypatch: pytest.MonkeyPatch) -> None:
    con = duckdb.connect()
    seen: list[str] = []

    def query(sql: str) -> list[tuple[Any, ...]]:
        seen.append(sql)
        return con.execute(sql).fetchall()

    relation = "(SELECT * FROM (VALUES (1::BIGINT), (100), (100)) t(k)) AS t"
    assert key_stats(query, relation, "k") == (3, 3, 2)
    assert "bitstring_agg" in seen[-1]
    monkeypatch.setattr(keys, "BITMAP_MAX_BITS", 50)
    assert key_stats(query, relation, "k") == (3, 3, 2)
    assert "COUNT(DISTINCT" in seen[-1]
