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
        elif event.kind == "advance":
            row = replace(row, done=event.done, total=event.total if event.total is not None else row.total)
        elif event.kind == "finish":
            total = event.total if event.total is not None else (row.total or max(event.done, 1))
            row = replace(row, done=total, total=total, state=event.message or "done", finished=True)
        self._tasks[event.task] = row
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._tasks), 1)

    def render(self) -> RenderableType:
        if not self._tasks:
            return Text("no phase has run in this session", style="dim")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=self.NAME_WIDTH, no_wrap=True, overflow="ellipsis")
        grid.add_column(width=self.BAR_WIDTH)
        grid.add_column(width=4, justify="right")
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis", style="dim")
        for row in self._tasks.values():
            pct = row.percentage
            bar = RichBar(
                total=float(row.total or 1),
                completed=float(row.total or 1) if row.finished else float(row.done if row.total else 0),
                width=self.BAR_WIDTH,
                pulse=False,
                complete_style="green" if row.finished else "bar.complete",
                finished_style="green",
            )
            grid.add_row(row.name, bar, "" if pct is None else f"{pct:.0%}", row.state)
        return grid


class PhaseResultsTable(DataTable[Text | str]):
    """The last run's result per phase: status, duration, rows per layer, quality, snapshots."""

    COLUMNS = (
        ("Phase", 5),
        ("Status", 9),
        ("Time", 7),
        ("Rows per layer", 30),
        ("Quality fails", 13),
        ("Snaps", 5),
        ("Started", 19),
    )

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for label, width in self.COLUMNS:
            self.add_column(label, width=width, key=label.lower())
        for phase in range(1, 5):
            self.add_row(str(phase), "never run", "-", "-", "-", "-", "-", key=str(phase))

    def show(self, result: PhaseResult) -> None:
        key = str(result.phase)
        status = Text("ok", style="green") if result.ok else Text("failed", style="bold red")
        values: list[Text | str] = [
            status,
            fmt.seconds(result.seconds),
            fmt.layers(result.rows_per_layer),
            str(result.quality_failures),
            str(len(result.snapshots)),
            fmt.when(result.started_at),
        ]
        for (column, _), value in zip(self.COLUMNS[1:], values, strict=True):
            self.update_cell(key, column.lower(), value)
