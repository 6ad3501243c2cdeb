"""Pure helpers of the SQL screen: statement under the cursor, as-of parsing, read-only detection."""

from __future__ import annotations

import re
from datetime import datetime

from lakehouse_core.models import AsOf


def split_statements(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the statements of ``text``, split on ``;`` outside quotes/comments."""
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    quote: str | None = None
    n = len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "-" and text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        elif ch == ";":
            spans.append((start, i))
            start = i + 1
        i += 1
    spans.append((start, n))
    return spans


def _offset(text: str, location: tuple[int, int]) -> int:
    row, col = location
    lines = text.split("\n")
    row = min(max(row, 0), len(lines) - 1)
    return sum(len(line) + 1 for line in lines[:row]) + min(col, len(lines[row]))


def statement_at(text: str, location: tuple[int, int]) -> str:
    """The statement under the cursor ``(row, column)``; the previous one when the cursor is after it."""
    offset = _offset(text, location)
    spans = [(s, e) for s, e in split_statements(text) if _strip_comments(text[s:e])]
    if not spans:
        return ""
    chosen = spans[0]
    for start, end in spans:
        if offset >= start:
            chosen = (start, end)
    return text[chosen[0] : chosen[1]].strip()


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.split("\n") if not line.strip().startswith("--")).strip()


def parse_as_of(text: str) -> AsOf | None:
    """``""`` -> current; digits -> snapshot id; ISO date/time -> timestamp; anything else -> ref name."""
    value = text.strip()
    if not value:
        return None
    if value.isdigit():
        return AsOf(snapshot_id=int(value))
    try:
        return AsOf(timestamp=datetime.fromisoformat(value))
    except ValueError:
        return AsOf(ref=value)


READ_ONLY_FIRST_WORDS = frozenset(
    {"select", "with", "values", "show", "describe", "explain", "from", "summarize"}
)
"""Statements that only read (DuckDB's FROM-first and SUMMARIZE included)."""
WRITING_WORDS = frozenset(
    {"insert", "update", "delete", "merge", "create", "drop", "alter", "copy", "attach", "detach", "truncate"}
    | {"nextval", "setval"}
)
"""Words that make a statement write (a CTE with DML, EXPLAIN ANALYZE of DML...) or change state."""
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def sql_words(sql: str) -> list[str]:
    """The lower-case bare words of ``sql``, outside comments, string literals and quoted identifiers."""
    words: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif sql[i] in ("'", '"'):
            end = sql.find(sql[i], i + 1)
            i = n if end < 0 else end + 1
        elif match := _WORD.match(sql, i):
            words.append(match.group().lower())
            i = match.end()
        else:
            i += 1
    return words


def is_read_only(sql: str) -> bool:
    """True when running ``sql`` twice is harmless: it starts with a reading keyword and has no writing word.

    Conservative: a column named like a writing keyword makes it False (the statement then runs once).
    """
    words = sql_words(sql)
    return bool(words) and words[0] in READ_ONLY_FIRST_WORDS and not WRITING_WORDS.intersection(words)
