"""Text formatting shared by the widgets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{int(value // 60)}m{int(value % 60):02d}s"


def millis(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def size(value: int) -> str:
    units = ["B", "KiB", "MiB", "GiB"]
    amount = float(value)
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"  # pragma: no cover


def when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def layers(rows: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in rows.items()) or "-"


def cell(value: Any) -> str:
    """Plain text of one result cell (None -> NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)
