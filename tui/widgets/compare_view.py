"""One statement on two refs: the two result grids side by side, rows the other side lacks highlighted.

The rows that differ come computed with the comparison (``QueryComparison``, made in the core); this
widget only draws them.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from lakehouse_core.models import AsOf, QueryComparison, QueryResult
from tui.widgets.results_table import ResultsTable


def version_name(as_of: AsOf | None) -> str:
    """How a side is named: its ref (``etl``), else what its as-of says, else ``current``."""
    if as_of is None:
        return "current"
    if as_of.ref and as_of.snapshot_id is None and as_of.timestamp is None:
        return as_of.ref
    return as_of.describe()


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def side_title(result: QueryResult, differing: int, other: str) -> str:
    """The line above one grid, e.g. ``main · 365 rows · 2 not on etl``."""
    name = version_name(result.as_of)
    cut = "+" if result.truncated else ""
    diff = f"{differing:,} not on {other}" if differing else f"all on {other}"
    return f"{name} · {_rows(result.row_count)}{cut} · {diff}"


def compare_summary(comparison: QueryComparison) -> str:
    """The summary line of a comparison, e.g. ``main ↔ etl: 3 rows differ (1 on main, 2 on etl)``."""
    left, right = version_name(comparison.left.as_of), version_name(comparison.right.as_of)
    head = f"{left} ↔ {right}"
    if comparison.identical:
        text = f"{head}: same rows ({_rows(comparison.left.row_count)})"
    else:
        a, b = len(comparison.left_only), len(comparison.right_only)
        text = f"{head}: {_rows(a + b)} differ ({a:,} on {left}, {b:,} on {right})"
    if len(comparison.columns) < len(comparison.left.columns):
        text += f" · compared on {len(comparison.columns)} shared column(s)"
    if comparison.left.truncated or comparison.right.truncated:
        text += " · fetch limit reached: compared the fetched rows"
    return text


class CompareView(Horizontal):
    """Two ResultsTables side by side with a title each (hidden until a comparison is shown)."""

    DEFAULT_CSS = """
    CompareView { height: 1fr; }
    CompareView > Vertical { width: 1fr; height: 1fr; }
    CompareView .compare-title {
        padding: 0 1; width: 1fr; height: 1; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis;
    }
    CompareView ResultsTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        for side in ("left", "right"):
            with Vertical(id=f"compare-{side}"):
                yield Label("", id=f"compare-{side}-title", classes="compare-title")
                yield ResultsTable(id=f"compare-{side}-grid")

    def grid(self, side: str) -> ResultsTable:
        """The grid of side ``left`` or ``right``."""
        return self.query_one(f"#compare-{side}-grid", ResultsTable)

    def show(self, comparison: QueryComparison, display_cap: int) -> None:
        """Draw both results, each with the rows the other lacks highlighted."""
        left, right = version_name(comparison.left.as_of), version_name(comparison.right.as_of)
        sides = (
            ("left", comparison.left, comparison.left_only, right),
            ("right", comparison.right, comparison.right_only, left),
        )
        for side, result, differs, other in sides:
            self.query_one(f"#compare-{side}-title", Label).update(side_title(result, len(differs), other))
            self.grid(side).show_result(result, display_cap, differs=differs)
