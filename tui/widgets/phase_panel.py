"""Phase widgets: one progress bar per task, and the last result per phase."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Label, ProgressBar

from lakehouse_core.models import PhaseResult, ProgressEvent
from tui.widgets import fmt


def _task_id(task: str) -> str:
    return "task-" + "".join(ch if ch.isalnum() else "-" for ch in task)


class TaskProgress(Horizontal):
    """A task name, its progress bar and its last message."""

    def __init__(self, task: str) -> None:
        super().__init__(id=_task_id(task), classes="task-progress")
        self.task_name = task

    def compose(self) -> ComposeResult:
        yield Label(self.task_name, classes="task-name")
        # a known total until the task starts: an unknown one animates (and repaints) continuously
        yield ProgressBar(total=1, show_eta=False, classes="task-bar")
        yield Label("waiting", classes="task-state")

    def apply(self, event: ProgressEvent) -> None:
        bar = self.query_one(ProgressBar)
        state = self.query_one(".task-state", Label)
        if event.kind == "start":
            bar.update(total=event.total, progress=event.done)
            state.update(event.message or "running")
        elif event.kind == "advance":
            bar.update(total=event.total if event.total is not None else bar.total, progress=event.done)
        elif event.kind == "finish":
            total = event.total if event.total is not None else (bar.total or max(event.done, 1))
            bar.update(total=total, progress=total)
            state.update(event.message or "done")


class PhaseProgressPanel(VerticalScroll):
    """Progress bars of the running (or last) phase, one per task."""

    def reset(self, tasks: list[str]) -> None:
        self.remove_children()
        self.mount_all([TaskProgress(task) for task in tasks])

    def apply(self, event: ProgressEvent) -> None:
        if event.kind == "log":
            return
        matches = self.query(f"#{_task_id(event.task)}")
        if matches:
            row = matches.first(TaskProgress)
            row.apply(event)
        else:
            row = TaskProgress(event.task)
            self.mount(row)
            self.call_after_refresh(row.apply, event)


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
