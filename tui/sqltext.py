"""Pure helpers of the SQL screen: the statement under the cursor, as-of parsing."""

from __future__ import annotations

from lakehouse_core.models import AsOf
from lakehouse_core.sqlparse import split_statements


def _offset(text: str, location: tuple[int, int]) -> int:
    row, col = location
    lines = text.split("\n")
    row = min(max(row, 0), len(lines) - 1)
    return sum(len(line) + 1 for line in lines[:row]) + min(col, len(lines[row]))


def statement_at(text: str, location: tuple[int, int]) -> str:
    """The statement under the cursor ``(row, column)``, leading comments included.

    Between two statements the cursor belongs to the one it follows while it stays on the line of
    that one's ``;``, to the next one from the next line on; after the last one, to the last one.
    """
    offset = _offset(text, location)
    statements = split_statements(text)
    if not statements:
        return ""
    chosen = statements[0]
    for previous, current in zip(statements, statements[1:], strict=False):
        after_end = text[previous.end : offset].partition(";")[2]  # what follows previous's ";"
        if offset >= current.start or "\n" in after_end:
            chosen = current
        else:
            break
    return chosen.sql


def parse_as_of(text: str) -> AsOf | None:
    """``""`` -> current; digits -> snapshot id; ISO date/time -> timestamp; anything else -> ref name."""
    return AsOf.parse(text)


def as_of_text(as_of: AsOf | None) -> str:
    """What the as-of field holds for ``as_of`` (``parse_as_of`` reads it back)."""
    if as_of is None:
        return ""
    if as_of.snapshot_id is not None:
        return str(as_of.snapshot_id)
    if as_of.timestamp is not None:
        return as_of.timestamp.isoformat()
    return as_of.ref or ""
