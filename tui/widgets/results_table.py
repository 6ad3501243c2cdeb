"""The query-results grid: textual-fastdatatable's DataTable drawing a result's Arrow table.

The grid formats only the cells on screen, straight from Arrow, so showing a result creates no Python
object per row and costs the same for 10 rows as for the display cap. fastdatatable's tables are not
refilled in place, so each result mounts a new one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc  # here, not at the first result: importing it takes 0.15 s
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.coordinate import Coordinate
from textual_fastdatatable import ArrowBackend, DataTable
from textual_fastdatatable.format import measure_width

from lakehouse_core.models import QueryResult
from tui.widgets import fmt

MAX_COLUMN_WIDTH = 40
MEASURED_ROWS = 200
NULL_TEXT = "[dim]NULL[/]"
NULL_WIDTH = 4


def result_summary(result: QueryResult, display_cap: int, fetch_limit: int) -> str:
    """The line above the grid; says exactly what is shown and why rows are missing.

    ``"42 rows"`` when everything is shown, else e.g.
    ``"showing 10,000 of 1,000,000 rows (fetch limit 100,000 reached; display cap 10,000)"``.
    """
    fetched = result.row_count
    shown = min(fetched, display_cap)
    if not result.truncated and shown == fetched:
        text = f"{shown:,} row{'' if shown == 1 else 's'}"
    else:
        if result.truncated:
            total = result.total_rows
            of = f"{total:,}" if total is not None and total > fetched else f"{fetched:,}+"
        else:
            of = f"{fetched:,}"
        reasons = []
        if result.truncated:
            reasons.append(f"fetch limit {fetch_limit:,} reached")
        if shown < fetched:
            reasons.append(f"display cap {display_cap:,}")
        text = f"showing {shown:,} of {of} rows ({'; '.join(reasons)})"
    suffix = f" · {result.as_of.describe()}" if result.as_of else ""
    return f"{text} · {fmt.seconds(result.elapsed_s)} · {result.engine}{suffix}"


class ResultBackend(ArrowBackend):
    """ArrowBackend measuring a numeric column by its extremes and any other on its first
    ``MEASURED_ROWS`` rows.

    ArrowBackend measures every shown row, and its numeric measurement (``fill_null(0)``) makes pyarrow
    import pandas: half a second and 40 MB on the first result.
    """

    def __init__(self, data: pa.Table, max_rows: int | None = None) -> None:
        super().__init__(data, max_rows=max_rows)
        self._widths: list[int] | None = None

    @property
    def column_content_widths(self) -> list[int]:
        if self._widths is None:
            self._widths = [_content_width(column) for column in self.data.columns]
        return self._widths


def _content_width(column: pa.ChunkedArray) -> int:
    """Cells the widest value of ``column`` needs (NULL included)."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        extremes = pc.min_max(column).as_py()
        values = [v for v in (extremes["min"], extremes["max"]) if v is not None]
    else:
        values = [v for v in column.slice(0, MEASURED_ROWS).to_pylist() if v is not None]
    widths = [measure_width(v, render_markup=False) for v in values]
    return max([NULL_WIDTH if column.null_count else 0, *widths])


class ResultGrid(DataTable):
    """fastdatatable's DataTable drawing the rows ``differs`` (row indices) highlighted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {"datatable--differs"}
    DEFAULT_CSS = """
    ResultGrid > .datatable--differs {
        background: $warning-muted;
        color: $text-warning;
        text-style: bold;
    }
    """

    def __init__(self, *args: Any, differs: Collection[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.differs = frozenset(differs)

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        style: Style = super()._get_row_style(row_index, base_style)
        if row_index in self.differs:
            style += self.get_component_rich_style("datatable--differs", partial=True)
        return style


class ResultsTable(Container):
    """Shows the first ``display_cap`` rows of a QueryResult (``grid`` is the current DataTable)."""

    DEFAULT_CSS = """
    ResultsTable { height: 1fr; }
    ResultsTable > ResultGrid { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.grid = self._new_grid(None, [])

    def compose(self) -> ComposeResult:
        yield self.grid

    @staticmethod
    def _new_grid(
        backend: ResultBackend | None, labels: list[str], differs: Collection[int] = ()
    ) -> ResultGrid:
        return ResultGrid(
            differs=differs,
            backend=backend,
            column_labels=[Text(name) for name in labels],  # Text: a column name is never markup
            zebra_stripes=True,
            show_row_labels=False,
            null_rep=NULL_TEXT,
            render_markup=False,
            max_column_content_width=MAX_COLUMN_WIDTH,
        )

    def show_result(
        self,
        result: QueryResult,
        display_cap: int,
        *,
        keep_position: bool = False,
        differs: Collection[int] = (),
    ) -> None:
        """Replace the grid with the first ``display_cap`` rows of ``result``.

        ``keep_position``: the result replaces a first page of the same query; the cursor and scroll
        offsets are kept. ``differs``: indices of rows drawn highlighted (rows another result lacks).
        """
        old = self.grid
        backend = ResultBackend(result.table, max_rows=display_cap)
        grid = self._new_grid(backend, list(result.columns), differs)
        self.grid = grid
        focused = old.has_focus
        old.remove()
        self.mount(grid)
        if focused:
            grid.focus()
        if keep_position and grid.row_count and result.columns:
            cursor = old.cursor_coordinate
            grid.cursor_coordinate = Coordinate(
                min(cursor.row, grid.row_count - 1), min(cursor.column, len(result.columns) - 1)
            )
            grid.call_after_refresh(grid.scroll_to, old.scroll_x, old.scroll_y, animate=False)

    @property
    def row_count(self) -> int:
        """Rows the grid holds (at most the display cap)."""
        return self.grid.row_count

    def get_row_at(self, index: int) -> list[Any]:
        """The Python values of one shown row."""
        return list(self.grid.get_row_at(index))
