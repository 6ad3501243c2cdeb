"""Distinct counts of key columns, shared by ingest (duplicated keys) and the audits (unique keys)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

BITMAP_MAX_BITS = 1 << 28
"""Integer keys spanning at most this many values are counted distinct with a bitmap (32 MiB)."""


def key_stats(
    query: Callable[[str], Sequence[tuple[Any, ...]]], relation: str, key: str
) -> tuple[int, int, int]:
    """Rows, non-null ``key`` values and distinct ones of ``relation`` (a FROM clause, WHERE included).

    An integer key whose values span at most BITMAP_MAX_BITS is counted distinct with a bitmap
    (``bitstring_agg`` between its MIN and MAX, then ``bit_count``), about ten times faster than the
    hash table of ``COUNT(DISTINCT)`` at 10M keys; other keys use ``COUNT(DISTINCT)``.
    """
    (rows, not_null, low, high), = query(
        f'SELECT COUNT(*), COUNT("{key}"), MIN("{key}"), MAX("{key}") FROM {relation}')
    if not not_null:
        return int(rows), 0, 0
    if type(low) is int and type(high) is int and high - low < BITMAP_MAX_BITS:
        distinct_sql = f'bit_count(bitstring_agg("{key}", {low}, {high}))'
    else:
        distinct_sql = f'COUNT(DISTINCT "{key}")'
    (distinct,), = query(f"SELECT {distinct_sql} FROM {relation}")
    return int(rows), int(not_null), int(distinct)
