"""A DataTable for query results that stays responsive on huge results.

Only the first ``display_cap`` rows are added, the first page at once and the rest in chunks on
later event-loop turns; column widths are measured on the first rows only (DataTable would
otherwise measure every cell on the event loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets._data_table import RowKey

from lakehouse_core.models import QueryResult
from tui.widgets import fmt

FIRST_PAGE = 100
CHUNK = 500
CHUNK_PAUSE_S = 0.02
MEASURED_ROWS = 200
MAX_COLUMN_WIDTH = 40


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


class ResultsTable(DataTable[str]):
    """Shows the first ``display_cap`` rows of a QueryResult."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes, zebra_stripes=True)
        self._pending: list[Sequence[Any]] = []
        self._generation = 0
        self.loaded_rows = 0

    def show_result(self, result: QueryResult, display_cap: int, *, keep_position: bool = False) -> None:
        """Replace the grid with ``result`` (first page now, the rest on later loop turns).

        ``keep_position``: the result replaces a first page of the same query; the rows already shown are
        added at once and the cursor and scroll offsets are kept.
        """
        cursor, scroll, loaded = self.cursor_coordinate, (self.scroll_x, self.scroll_y), self.loaded_rows
        self._generation += 1
        self.clear(columns=True)
        rows = result.rows[:display_cap]
        sample = rows[:MEASURED_ROWS]
        for index, name in enumerate(result.columns):
            width = max([len(name)] + [len(fmt.cell(r[index])) for r in sample] or [len(name)])
            self.add_column(name, width=min(width, MAX_COLUMN_WIDTH), key=f"c{index}")
        first = max(FIRST_PAGE, loaded) if keep_position else FIRST_PAGE
        self._add(rows[:first])
        self._pending = list(rows[first:])
        if keep_position and self.row_count and result.columns:
            self.cursor_coordinate = Coordinate(
                min(cursor.row, self.row_count - 1), min(cursor.column, len(result.columns) - 1)
            )
            self.call_after_refresh(self.scroll_to, *scroll, animate=False)
        if self._pending:
            self.set_timer(CHUNK_PAUSE_S, lambda gen=self._generation: self._add_chunk(gen))

    def show_message(self, columns: Iterable[str], rows: Iterable[Sequence[Any]]) -> None:
        """Show a small fixed table (e.g. an error)."""
        self._generation += 1
        self._pending = []
        self.clear(columns=True)
        for name in columns:
            self.add_column(name)
        self._add(list(rows))

    def _add(self, rows: Sequence[Sequence[Any]]) -> None:
        self.add_rows([fmt.cell(v) for v in row] for row in rows)
        self.loaded_rows = self.row_count

    def _add_chunk(self, generation: int) -> None:
        if generation != self._generation or not self._pending:
            return
        chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
        self._add(chunk)
        if self._pending:
            self.set_timer(CHUNK_PAUSE_S, lambda: self._add_chunk(generation))

    @property
    def fully_loaded(self) -> bool:
        return not self._pending

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        locations = self._row_locations
        sample = [key for key in new_rows if (i := locations.get(key)) is not None and i < MEASURED_ROWS]
        super()._update_dimensions(sample)
