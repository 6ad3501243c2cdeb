"""Metric units: values and axis ticks read as counts, durations, bytes or percentages."""

from __future__ import annotations

import pytest

from lakehouse_core.units import UNITS, duration, unit_of


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        ("rows", 0.0, "0 rows"),
        ("rows", 12_339.6, "12,340 rows"),
        ("workers", 2.0, "2 workers"),
        ("bytes", 937_807_872.0, "894.4 MiB"),
        ("bytes", 4e9, "3.7 GiB"),
        ("bytes", 512.0, "512 B"),
        ("s", 86_400.0, "1d"),
        ("s", 7 * 86_400.0, "7d"),
        ("s", 108_000.0, "1d06h"),
        ("s", 245.0, "4m05s"),
        ("s", 12.34, "12.3 s"),
        ("s", 0.279, "279 ms"),
        ("ms", 613.0, "613 ms"),
        ("ms", 2000.0, "2.0 s"),
        ("%", 91.5, "91.5 %"),
        ("cores", 0.0609, "0.0609 cores"),
        ("rows/s", 183.0, "183 rows/s"),
        ("", 1234.5, "1,234"),
        ("widgets", 3.0, "3 widgets"),
        ("bytes", None, "no data"),
    ],
)
def test_values_read_in_their_unit(unit: str, value: float | None, text: str) -> None:
    assert unit_of(unit).format(value) == text


@pytest.mark.parametrize(
    ("unit", "high", "labels"),
    [
        ("bytes", 4e9, ["0", "1 GiB", "2 GiB", "3 GiB", "4 GiB"]),
        ("bytes", 937_807_872.0, ["0", "250 MiB", "500 MiB", "750 MiB", "1000 MiB"]),
        ("s", 86_400.0, ["0", "6h", "12h", "18h", "1d"]),
        ("s", 900.0, ["0", "5m", "10m", "15m"]),
        ("ms", 2000.0, ["0", "1s", "2s"]),
        ("ms", 400.0, ["0", "100ms", "200ms", "300ms", "400ms"]),
        ("rows", 20_000.0, ["0", "5k", "10k", "15k", "20k"]),
        ("rows", 0.0, ["0", "1"]),
        ("%", 100.0, ["0", "25%", "50%", "75%", "100%"]),
    ],
)
def test_axis_ticks_are_round_in_the_unit(unit: str, high: float, labels: list[str]) -> None:
    ticks = unit_of(unit).ticks(0.0, high, 4)
    assert [label for _, label in ticks] == labels
    assert ticks[0][0] <= 0.0 and ticks[-1][0] >= high
    values = [v for v, _ in ticks]
    assert values == sorted(values) and len(set(values)) == len(values)


def test_counts_never_get_fractional_ticks() -> None:
    assert all(v == int(v) for v, _ in unit_of("rows").ticks(0.0, 3.0, 8))


def test_every_unit_of_the_panels_is_defined() -> None:
    from lakehouse_core.backends.embedded.metrics import EMBEDDED_PANELS

    assert {panel.unit for panel in EMBEDDED_PANELS} <= set(UNITS)
    assert duration(-90.0) == "-1m30s"
