"""Pure helpers of the SQL screen: the statement under the cursor, as-of parsing, the ref picker's choices."""

from __future__ import annotations

import dataclasses

from lakehouse_core.models import AsOf, RefInfo
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
    """``""`` -> current; digits -> snapshot id; ISO date/time -> timestamp; anything else -> ref name
    (``AsOf.parse``; ValueError with one line for a date that does not exist)."""
    return AsOf.parse(text)


def as_of_text(as_of: AsOf | None) -> str:
    """What the as-of field holds for ``as_of`` (``parse_as_of`` reads it back)."""
    return "" if as_of is None else as_of.text()


def with_ref(as_of: AsOf | None, ref: str | None) -> AsOf | None:
    """The as-of typed in the field, read on ref ``ref`` (the ref picker's choice; None: current).

    A ref typed in the field wins over the picker; a snapshot id or time is read on the picked ref."""
    if not ref:
        return as_of
    if as_of is None:
        return AsOf(ref=ref)
    if as_of.ref:
        return as_of
    return dataclasses.replace(as_of, ref=ref)


def split_ref(as_of: AsOf | None) -> tuple[str | None, str]:
    """``(picker ref, field text)`` that ``with_ref(parse_as_of(text), ref)`` reads back as ``as_of``."""
    if as_of is None:
        return None, ""
    if as_of.ref and (as_of.snapshot_id is not None or as_of.timestamp is not None):
        return as_of.ref, as_of_text(dataclasses.replace(as_of, ref=None))
    return None, as_of_text(as_of)


def ref_choices(refs: list[RefInfo]) -> list[tuple[str, str]]:
    """``(name, label)`` per ref name, in the backend's order (embedded refs repeat per table)."""
    seen: dict[str, str] = {}
    for ref in refs:
        if ref.name not in seen:
            seen[ref.name] = ref.name if ref.kind == "branch" else f"{ref.name} (tag)"
    return list(seen.items())
