"""Phase widgets: one progress bar per task, and the last result per phase."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.console import RenderableType
from rich.progress_bar import ProgressBar as RichBar
from rich.table import Table
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import DataTable

from lakehouse_core.models import PhaseResult, ProgressEvent
from lakehouse_core.report import business_report
from tui.widgets import fmt


@dataclass(frozen=True)
class TaskProgress:
    """What the panel shows for one task."""

    name: str
    done: int = 0
    total: int | None = None
    state: str = "waiting"
    finished: bool = False

    @property
    def percentage(self) -> float | None:
        """0..1, or None while the total is unknown."""
        if self.finished:
            return 1.0
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)


class PhaseProgressPanel(Widget):
    """Progress of the running (or last) phase: one line per task (name, bar, percentage, message).

    One widget draws every row, so a phase start or a progress event repaints one region: no widgets
    are mounted or laid out while a phase runs (that work showed up as frame gaps).
    """

    BAR_WIDTH = 32
    NAME_WIDTH = 22

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tasks: dict[str, TaskProgress] = {}

    @property
    def tasks(self) -> list[TaskProgress]:
        """The rows, in plan order (tasks not in the plan are appended when they first report)."""
        return list(self._tasks.values())

    def reset(self, tasks: list[str]) -> None:
        """Show ``tasks`` as waiting."""
        self._tasks = {name: TaskProgress(name) for name in tasks}
        self.refresh()

    def apply(self, event: ProgressEvent) -> None:
        """Fold one progress event into its task's row."""
        if event.kind == "log":
            return
        row = self._tasks.get(event.task)
        if row is None:
            row = TaskProgress(event.task)
        if event.kind == "start":
            row = replace(row, done=event.done, total=event.total, state=event.message or "running")
        elif event.kind == "advance":  # its message, when it has one, is the rate and ETA
            row = replace(row, done=event.done, total=event.total if event.total is not None else row.total,
                          state=event.message or row.state)
        elif event.kind == "finish":
            total = event.total if event.total is not None else (row.total or max(event.done, 1))
            row = replace(row, done=total, total=total, state=event.message or "done", finished=True)
        self._tasks[event.task] = row
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._tasks), 1)

    def widths(self, width: int) -> tuple[int, int]:
        """``(name, bar)`` widths for ``width`` cells: the percentage always whole, the message at
        least 8 cells (the bar shrinks first, down to 5 cells, then the name, down to 10)."""
        spare = width - 4 - 3 - 8  # percentage, the three gaps, the message's least width
        bar = max(5, min(self.BAR_WIDTH, spare - self.NAME_WIDTH))
        name = max(10, min(self.NAME_WIDTH, spare - bar))
        return name, bar

    def render(self) -> RenderableType:
        if not self._tasks:
            return Text("no phase has run in this session", style="dim")
        name_width, bar_width = self.widths(self.size.width or 80)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=name_width, no_wrap=True, overflow="ellipsis")
        grid.add_column(width=bar_width)
        grid.add_column(width=4, min_width=4, justify="right", no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis", style="dim")
        for row in self._tasks.values():
            pct = row.percentage
            bar = RichBar(
                total=float(row.total or 1),
                completed=float(row.total or 1) if row.finished else float(row.done if row.total else 0),
                width=bar_width,
                pulse=False,
                complete_style="green" if row.finished else "bar.complete",
                finished_style="green",
            )
            grid.add_row(row.name, bar, "" if pct is None else f"{pct:.0%}", row.state)
        return grid


@dataclass(frozen=True)
class ResultColumn:
    """One column of the phase results: its label, width and the text of a result in it."""

    key: str
    label: str
    width: int  # 0: the summary column, which takes the width the others leave


FULL_COLUMNS = (
    ResultColumn("phase", "Phase", 5),
    ResultColumn("status", "Status", 9),
    ResultColumn("time", "Time", 7),
    ResultColumn("summary", "Summary", 0),
    ResultColumn("fails", "Fails", 5),
    ResultColumn("snaps", "Snaps", 5),
    ResultColumn("started", "Started", 19),
)
SHORT_STARTED = ResultColumn("started", "Started", 11)  # "11-30 21:04"
NARROW_PHASE = ResultColumn("phase", "#", 1)
MIN_SUMMARY = 16


def result_columns(width: int, padding: int = 1) -> tuple[ResultColumn, ...]:
    """The columns that fit ``width`` cells whole, the summary getting the rest (at least MIN_SUMMARY):
    the full set, else without Snaps, without Fails, a short Started, a one-cell Phase, then without Time."""
    candidates = [
        FULL_COLUMNS,
        tuple(c for c in FULL_COLUMNS if c.key != "snaps"),
        tuple(c for c in FULL_COLUMNS if c.key not in ("fails", "snaps")),
    ]
    short = tuple(SHORT_STARTED if c.key == "started" else c for c in candidates[-1])
    candidates.append(short)
    candidates.append(tuple(NARROW_PHASE if c.key == "phase" else c for c in short))
    candidates.append(tuple(c for c in candidates[-1] if c.key != "time"))
    for columns in candidates:
        fixed = sum(c.width + 2 * padding for c in columns if c.width) + 2 * padding
        if width - fixed >= MIN_SUMMARY:
            break
    return tuple(
        replace(c, width=max(MIN_SUMMARY, width - fixed)) if not c.width else c for c in columns
    )


def result_summary(result: PhaseResult) -> str:
    """Phase 3: its report in short; other phases: rows per layer."""
    if result.phase == 3 and result.outputs:
        return business_report(result).summary()
    return fmt.layers(result.rows_per_layer)


class PhaseResultsTable(DataTable[Text | str]):
    """The last run's result per phase: status, duration, a summary (rows per layer, phase 3's report),
    quality failures, snapshots, start time. The columns fit the table's width: none is shown cut."""

    DEFAULT_CSS = """
    PhaseResultsTable {
        overflow-x: hidden;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results: dict[int, PhaseResult] = {}
        self._columns: tuple[ResultColumn, ...] = ()

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self._layout(self.scrollable_content_region.width or 80)

    def on_resize(self) -> None:
        self._layout(self.scrollable_content_region.width)

    def _layout(self, width: int) -> None:
        columns = result_columns(width, self.cell_padding)
        if columns == self._columns:
            return
        self._columns = columns
        cursor = self.cursor_row
        self.clear(columns=True)
        for column in columns:
            self.add_column(column.label, width=column.width, key=column.key)
        for phase in range(1, 5):
            self.add_row(*self._values(phase), key=str(phase))
        self.move_cursor(row=cursor)

    def _values(self, phase: int) -> list[Text | str]:
        result = self.results.get(phase)
        values: dict[str, Text | str]
        if result is None:
            values = {"phase": str(phase), "status": "never run"}
        else:
            values = {
                "phase": str(phase),
                "status": Text("ok", style="green") if result.ok else Text("failed", style="bold red"),
                "time": fmt.seconds(result.seconds),
                "summary": self._fit("summary", result_summary(result)),
                "fails": str(result.quality_failures),
                "snaps": str(len(result.snapshots)),
                "started": fmt.when(result.started_at)
                if self._started_width() >= 19
                else result.started_at.strftime("%m-%d %H:%M"),
            }
        return [values.get(column.key, "-") for column in self._columns]

    def _fit(self, key: str, text: str) -> str:
        """``text`` cut to its column's width with an ellipsis, so that a cut shows as one."""
        width = next((c.width for c in self._columns if c.key == key), len(text))
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def _started_width(self) -> int:
        return next((c.width for c in self._columns if c.key == "started"), 0)

    def show(self, result: PhaseResult) -> None:
        self.results[result.phase] = result
        key = str(result.phase)
        for column, value in zip(self._columns, self._values(result.phase), strict=True):
            self.update_cell(key, column.key, value)
