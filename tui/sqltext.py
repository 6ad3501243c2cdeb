"""Pure helpers of the SQL screen: statement under the cursor, as-of parsing."""

from __future__ import annotations

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
