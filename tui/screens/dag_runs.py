"""Airflow: the phase-1 DAG's recent runs (state, duration), the task grid of the selected run and the
log of the highlighted task. Pushed from the Overview (key a); every call goes through
``app.backend.dag_runs``. While shown it refreshes every ``tui.refresh_seconds``, so a running DAG
run's task states change in place."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, RichLog

from lakehouse_core.models import DagRunInfo, TaskInstanceInfo
from lakehouse_core.ports import DagRunBrowser
from tui.messages import DagRunsLoaded, DagTasksLoaded, TaskLogLoaded
from tui.screens.base import LakehouseScreen
from tui.widgets import fmt
from tui.widgets.footer import LakehouseFooter

STATE_STYLE = {
    "success": "green",
    "running": "yellow",
    "queued": "cyan",
    "scheduled": "cyan",
    "up_for_retry": "dark_orange",
    "failed": "bold red",
    "upstream_failed": "red",
}
NO_AIRFLOW = {
    "embedded": "Airflow runs in stack mode only (--mode stack); embedded mode runs phase 1 in-process",
    "stack": "Airflow is not part of this stack: set LAKEHOUSE_AIRFLOW__URL (e.g. http://127.0.0.1:8085)",
}


def _state(state: str) -> Text:
    return Text(state, style=STATE_STYLE.get(state, ""))


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else fmt.seconds(seconds)


class DagRunsScreen(LakehouseScreen):
    CSS_PATH = str(Path(__file__).with_name("dag_runs.tcss"))
    TITLE_TEXT = "Airflow"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="dagruns.close"),
        Binding("r", "refresh", "Refresh", id="dagruns.refresh"),
        Binding("l", "task_log", "Task log", id="dagruns.log"),
    ]

    def __init__(self) -> None:
        super().__init__(id="dag-runs-screen")
        self.runs: list[DagRunInfo] = []
        self.tasks: list[TaskInstanceInfo] = []
        self.selected_run: str | None = None
        self.log_of: tuple[str, str, int] | None = None

    @property
    def source(self) -> DagRunBrowser | None:
        return self.backend.dag_runs

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="dag-runs-box"):
                yield Label(f"Runs of DAG {self.settings.airflow.dag_id}", classes="section-title")
                yield DataTable(id="dag-runs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="dag-run-box"):
                with Vertical(id="dag-tasks-box"):
                    yield Label("", id="dag-run-title", markup=False)
                    yield DataTable(id="dag-tasks", cursor_type="row")
                with Vertical(id="task-log-box"):
                    yield Label("task log: highlight a task, l or enter", id="task-log-title", markup=False)
                    yield RichLog(id="task-log", markup=False, wrap=True, max_lines=2000)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self.query_one("#dag-runs", DataTable).add_columns("run", "state", "duration", "started")
        self.query_one("#dag-tasks", DataTable).add_columns("#", "task", "state", "try", "duration")
        self.action_refresh()
        if seconds := self.settings.tui.refresh_seconds:
            self.set_interval(float(seconds), self.action_refresh)

    # ------------------------------------------------------------ loading
    def action_refresh(self) -> None:
        if self.source is None:
            self.query_one("#dag-run-title", Label).update(NO_AIRFLOW[self.backend.mode])
            return
        self._load_runs()
        if self.selected_run is not None:
            self._load_tasks(self.selected_run)

    @work(thread=True, exclusive=True, group="dag-runs", exit_on_error=False)
    def _load_runs(self) -> None:
        assert self.source is not None
        self.post_message(DagRunsLoaded(self.source.recent_runs(20)))

    @work(thread=True, exclusive=True, group="dag-tasks", exit_on_error=False)
    def _load_tasks(self, run_id: str) -> None:
        assert self.source is not None
        self.post_message(DagTasksLoaded(run_id, self.source.task_instances(run_id)))

    @work(thread=True, exclusive=True, group="task-log", exit_on_error=False)
    def _load_log(self, run_id: str, task_id: str, try_number: int) -> None:
        assert self.source is not None
        lines = self.source.task_log(run_id, task_id, try_number)
        self.post_message(TaskLogLoaded(run_id, task_id, try_number, lines))

    @on(DagRunsLoaded)
    def show_runs(self, message: DagRunsLoaded) -> None:
        self.runs = message.runs
        table = self.query_one("#dag-runs", DataTable)
        cursor = table.cursor_row
        table.clear()
        for run in self.runs:
            started = run.started_at.strftime("%m-%d %H:%M:%S") if run.started_at else "-"
            table.add_row(Text(run.run_id), _state(run.state), _duration(run.duration_s), started,
                          key=run.run_id)
        if not self.runs:
            self.query_one("#dag-run-title", Label).update("no DAG runs yet: press 1 on the Overview")
            return
        table.move_cursor(row=min(cursor, len(self.runs) - 1))
        if self.selected_run is None:
            self.selected_run = self.runs[0].run_id
            self._load_tasks(self.selected_run)

    @on(DataTable.RowHighlighted, "#dag-runs")
    def run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        run_id = event.row_key.value
        if run_id is not None and run_id != self.selected_run and self.source is not None:
            self.selected_run = str(run_id)
            self._load_tasks(self.selected_run)

    @on(DagTasksLoaded)
    def show_tasks(self, message: DagTasksLoaded) -> None:
        if message.run_id != self.selected_run:
            return
        run = next((r for r in self.runs if r.run_id == message.run_id), None)
        state = f" · {run.state} · {_duration(run.duration_s)}" if run else ""
        self.query_one("#dag-run-title", Label).update(f"run {message.run_id}{state}")
        self.tasks = message.tasks  # in the DAG's order
        table = self.query_one("#dag-tasks", DataTable)
        cursor = table.cursor_row
        table.clear()
        for i, ti in enumerate(self.tasks, 1):
            table.add_row(str(i), Text(ti.task_id), _state(ti.state), str(ti.try_number),
                          _duration(ti.duration_s), key=ti.task_id)
        if self.tasks:
            table.move_cursor(row=min(cursor, len(self.tasks) - 1))
        if self.log_of is not None and self.log_of[0] == message.run_id:
            task = next((t for t in self.tasks if t.task_id == self.log_of[1]), None)
            if task is not None and task.state == "running":
                self._load_log(message.run_id, task.task_id, task.try_number)  # follow a running task

    @on(DataTable.RowSelected, "#dag-tasks")
    def task_selected(self, event: DataTable.RowSelected) -> None:
        self.action_task_log()

    def action_task_log(self) -> None:
        table = self.query_one("#dag-tasks", DataTable)
        if self.selected_run is None or not self.tasks or self.source is None:
            self.notify("no task to show", severity="warning")
            return
        task = self.tasks[min(table.cursor_row, len(self.tasks) - 1)]
        self.log_of = (self.selected_run, task.task_id, task.try_number)
        self._load_log(self.selected_run, task.task_id, task.try_number)

    @on(TaskLogLoaded)
    def show_log(self, message: TaskLogLoaded) -> None:
        if self.log_of is None or self.log_of[:2] != (message.run_id, message.task_id):
            return
        self.query_one("#task-log-title", Label).update(
            f"log of {message.task_id} (try {message.try_number}) · run {message.run_id}"
        )
        log = self.query_one("#task-log", RichLog)
        log.clear()
        for line in message.lines or ["(empty log)"]:
            log.write(line)

    def action_close(self) -> None:
        self.app.pop_screen()
