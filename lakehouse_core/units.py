"""Units of metric values: the one definition of every unit a MetricPanel or AlertState names.

A unit has a kind (a count, a duration, bytes, a percentage or a plain number) and the kind decides how
a value reads: counts as whole numbers ("12,340 rows"), durations as durations ("850 ms", "4m05s",
"1d"), bytes with binary prefixes ("894.0 MiB", "3.7 GiB"). ``ticks`` gives an axis's round values in
the same unit ("0", "1 GiB", "2 GiB"; "0", "12h", "1d").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "duration", "bytes", "percent", "number"]

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_DECIMAL = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# durations on an axis: (seconds per step unit, suffix), from the largest
# and the steps that read as round durations in that unit (none: 1, 2, 2.5, 5 times a power of ten)
_CLOCK = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
_DURATION_SCALES: tuple[tuple[float, str, tuple[float, ...]], ...] = (
    (86_400.0, "d", ()),
    (3_600.0, "h", (1.0, 2.0, 3.0, 6.0, 12.0, 24.0)),
    (60.0, "m", _CLOCK),
    (1.0, "s", _CLOCK),
    (0.001, "ms", ()),
)


@dataclass(frozen=True)
class Unit:
    """How values in one unit read; ``seconds`` converts a duration unit to seconds."""

    name: str
    kind: Kind
    label: str = ""
    """The word after a count or plain number ("rows", "cores"); empty for none."""
    seconds: float = 1.0

    def format(self, value: float | None) -> str:
        """One value in full: ``12,340 rows``, ``4m05s``, ``894.0 MiB``, ``91.5 %``; None: "no data"."""
        if value is None or math.isnan(value):
            return "no data"
        if self.kind == "duration":
            return duration(value * self.seconds)
        if self.kind == "bytes":
            return binary_size(value)
        if self.kind == "count":
            text = f"{round(value):,}"
        else:
            text = _number(value)
        return f"{text} {self.label}".rstrip()

    def ticks(self, low: float, high: float, count: int = 4) -> list[tuple[float, str]]:
        """About ``count`` round axis values covering ``low``..``high``, each with its short label."""
        if self.kind == "duration":
            span_s = max(abs(low), abs(high)) * self.seconds
            per, _suffix, steps = next(
                (d for d in _DURATION_SCALES if span_s >= 2 * d[0]), _DURATION_SCALES[-1]
            )
            scale = per / self.seconds
            values = _nice(low / scale, high / scale, count, steps=steps)
            return [(v * scale, _zero(v) or _short_duration(v * per)) for v in values]
        if self.kind == "bytes":
            power = 0
            while power < len(_BINARY) - 1 and max(abs(low), abs(high)) >= 1024 ** (power + 1):
                power += 1
            scale = 1024.0**power
            values = _nice(low / scale, high / scale, count)
            return [(v * scale, _zero(v) or f"{v:g} {_BINARY[power]}") for v in values]
        values = _nice(low, high, count, whole=self.kind == "count")
        return [(v, _zero(v) or _short(v) + ("%" if self.kind == "percent" else "")) for v in values]


UNITS: Mapping[str, Unit] = {
    unit.name: unit
    for unit in (
        Unit("", "number"),
        Unit("s", "duration"),
        Unit("ms", "duration", seconds=0.001),
        Unit("bytes", "bytes"),
        Unit("rows", "count", "rows"),
        Unit("workers", "count", "workers"),
        Unit("files", "count", "files"),
        Unit("snapshots", "count", "snapshots"),
        Unit("rows/s", "number", "rows/s"),
        Unit("cores", "number", "cores"),
        Unit("%", "percent", "%"),
    )
}


def unit_of(name: str) -> Unit:
    """The unit called ``name``; an unknown name is a plain number labelled with it."""
    return UNITS.get(name) or Unit(name, "number", name)


def duration(seconds: float) -> str:
    """``850 ms``, ``12.3 s``, ``4m05s``, ``3h20m``, ``1d``, ``2d06h``."""
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if s < 1:
        text = f"{s * 1000:.0f} ms" if s >= 0.001 or s == 0 else f"{s * 1000:.2g} ms"
    elif s < 60:
        text = f"{s:.1f} s"
    else:
        whole = round(s)
        days, rest = divmod(whole, 86_400)
        hours, rest = divmod(rest, 3_600)
        minutes, secs = divmod(rest, 60)
        if days:
            text = f"{days}d{hours:02d}h" if hours else f"{days}d"
        elif hours:
            text = f"{hours}h{minutes:02d}m"
        else:
            text = f"{minutes}m{secs:02d}s"
    return sign + text


def binary_size(value: float) -> str:
    """``512 B``, ``894.0 MiB``, ``3.7 GiB``."""
    amount, power = abs(value), 0
    while amount >= 1024 and power < len(_BINARY) - 1:
        amount /= 1024
        power += 1
    sign = "-" if value < 0 else ""
    return f"{sign}{amount:.0f} B" if power == 0 else f"{sign}{amount:.1f} {_BINARY[power]}"


def _zero(value: float) -> str:
    return "0" if value == 0 else ""


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _short_duration(seconds: float) -> str:
    """An axis label: the largest unit in which ``seconds`` is a whole or half number (1d, 18h, 1.5s)."""
    for per, suffix, _steps in _DURATION_SCALES:
        amount = seconds / per
        if abs(amount) >= 1 and abs(amount * 2 - round(amount * 2)) < 1e-9:
            return f"{amount:g}{suffix}"
    return f"{seconds * 1000:g}ms"


def _short(value: float) -> str:
    for scale, suffix in _DECIMAL:
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _nice(
    low: float, high: float, count: int, *, whole: bool = False, steps: tuple[float, ...] = ()
) -> list[float]:
    """Round values a step apart from <= low to >= high: the first of ``steps`` that gives at most about
    ``count`` intervals, else 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next((m for m in steps if m >= raw * (1 - 1e-9)), 0.0) or next(
        m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9)
    )
    if whole:
        step = max(1.0, round(step))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def progress_note(fraction: float, elapsed_s: float, rows: float | None = None, what: str = "rows") -> str:
    """How a long task goes: ``43% · 2.1M rows/s · ETA 1m05s``.

    ``fraction`` (0..1) of the task is done after ``elapsed_s``; ``rows`` is what that fraction
    processed (no rate without it). The ETA assumes the rest goes at the same pace; it is left out
    until 1% is done.
    """
    fraction = min(max(fraction, 0.0), 1.0)
    parts = [f"{fraction:.0%}"]
    if rows is not None and elapsed_s > 0:
        parts.append(f"{_short(float(f'{rows / elapsed_s:.2g}'))} {what}/s")
    if 0.01 <= fraction < 1.0 and elapsed_s > 0:
        parts.append(f"ETA {duration(elapsed_s * (1 - fraction) / fraction)}")
    return " · ".join(parts)
