"""Compose: every service of the Compose stack (state, health, ports, blocked by), ``stack up`` with
live progress (image builds, health waits), start/stop/restart of the selected service and its log
followed in a panel. Pushed from the Overview (key c); every call goes through ``app.backend.status``
in worker threads, so the screen never waits on Docker. Refreshes every ``tui.refresh_seconds``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Header, Label, RichLog

from lakehouse_core.errors import CancelledError, LakehouseError
from lakehouse_core.models import ComposeServiceState
from lakehouse_core.ports import CancelToken
from tui.messages import (
    ComposeServicesLoaded,
    PhaseProgress,
    ServiceControlled,
    ServiceLogLines,
    StackUpFinished,
)
from tui.progress import TuiProgressSink
from tui.screens.base import LakehouseScreen
from tui.screens.modals import ConfirmActionModal
from tui.widgets.footer import LakehouseFooter

Action = Literal["start", "stop", "restart"]
HEALTH_STYLE = {"healthy": "green", "starting": "yellow", "unhealthy": "bold red"}
COLUMNS = ("service", "state", "health", "ports", "blocked by")


def _state(row: ComposeServiceState) -> Text:
    if row.state == "running":
        return Text(row.state, style="green")
    if row.state == "exited" and row.exit_code == 0:
        return Text("exited (0)", style="dim")
    code = f" ({row.exit_code})" if row.exit_code is not None else ""
    return Text(row.state + code, style="red" if row.state in ("exited", "dead") else "yellow")


class ComposeScreen(LakehouseScreen):
    CSS_PATH = str(Path(__file__).with_name("compose.tcss"))
    TITLE_TEXT = "Compose stack"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="compose.close"),
        Binding("r", "refresh", "Refresh", id="compose.refresh"),
        Binding("U", "stack_up", "Stack up", id="compose.up"),
        Binding("x", "cancel", "Cancel up/logs", id="compose.cancel"),
        Binding("u", "control('start')", "Start", id="compose.start"),
        Binding("d", "control('stop')", "Stop", id="compose.stop"),
        Binding("R", "control('restart')", "Restart", id="compose.restart"),
        Binding("f", "follow_logs", "Follow logs", id="compose.logs"),
    ]

    def __init__(self) -> None:
        super().__init__(id="compose-screen")
        self.services: list[ComposeServiceState] = []
        self.error: str | None = None
        self._up: CancelToken | None = None
        self._follow: CancelToken | None = None
        self.following: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="compose-box"):
            yield Label(
                "Services (U up · u start · d stop · R restart · f follow logs · x cancel)",
                classes="section-title",
            )
            yield DataTable(id="compose-services", cursor_type="row", zebra_stripes=True)
            yield Label("", id="compose-status", markup=False)
        with Vertical(id="compose-log-box"):
            yield Label("Progress and logs", id="compose-log-title", classes="section-title", markup=False)
            yield RichLog(id="compose-log", markup=False, wrap=True, max_lines=5000)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self.query_one("#compose-services", DataTable).add_columns(*COLUMNS)
        self.action_refresh()
        if seconds := self.settings.tui.refresh_seconds:
            self.set_interval(float(seconds), self.action_refresh)

    def on_unmount(self) -> None:
        for token in (self._follow, self._up):  # a followed log ends with the screen; `up` too
            if token is not None:
                token.cancel()

    def action_close(self) -> None:
        self.app.pop_screen()

    def _log(self, text: str) -> None:
        self.query_one("#compose-log", RichLog).write(text)

    # ------------------------------------------------------------ the table
    def action_refresh(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="compose-services", exit_on_error=False)
    def _load(self) -> None:
        try:
            self.post_message(ComposeServicesLoaded(self.backend.status.compose_services()))
        except LakehouseError as exc:
            self.post_message(ComposeServicesLoaded([], error=str(exc)))

    @on(ComposeServicesLoaded)
    def show_services(self, message: ComposeServicesLoaded) -> None:
        self.services, self.error = message.services, message.error
        table = self.query_one("#compose-services", DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in self.services:
            health = Text(row.health or "-", style=HEALTH_STYLE.get(row.health or "", "dim"))
            blocked = Text(f"blocked by {row.blocked_by}", style="red") if row.blocked_by else Text("")
            table.add_row(
                Text(row.name), _state(row), health, Text(", ".join(row.ports) or "-"), blocked, key=row.name
            )
        if self.services:
            table.move_cursor(row=min(cursor, len(self.services) - 1))
        status = self.query_one("#compose-status", Label)
        if message.error:
            status.update(message.error)
        else:
            ready = sum(row.ready for row in self.services)
            names = [row.name for row in self.services if row.blocked_by]
            text = f"{ready}/{len(self.services)} services running and healthy"
            status.update(text + (f"; blocked: {', '.join(names)}" if names else ""))

    def selected(self) -> str | None:
        table = self.query_one("#compose-services", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)

    # ------------------------------------------------------------ stack up
    def action_stack_up(self) -> None:
        if self._up is not None:
            self.notify("stack up is already running", severity="warning")
            return
        self._up = CancelToken()
        self._log("stack up: building images, starting services, waiting for health…")
        self._stack_up(self._up)

    @work(thread=True, exclusive=True, group="compose-up", exit_on_error=False)
    def _stack_up(self, cancel: CancelToken) -> None:
        try:
            self.backend.status.stack_up(TuiProgressSink(self, min_interval_s=0.1), cancel)
        except CancelledError:
            self.post_message(StackUpFinished(cancelled=True))
            return
        except LakehouseError as exc:
            self.post_message(StackUpFinished(error=str(exc)))
            return
        self.post_message(StackUpFinished())

    @on(PhaseProgress)
    def show_progress(self, message: PhaseProgress) -> None:
        event = message.event
        if event.kind == "start":
            return
        self._log(f"{event.task} ✓" if event.kind == "finish" else f"{event.task}: {event.message}")
        if event.kind == "log" and event.message in ("started", "healthy", "exited", "stopped"):
            self.action_refresh()

    @on(StackUpFinished)
    def stack_up_finished(self, message: StackUpFinished) -> None:
        self._up = None
        if message.cancelled:
            text, severity = "stack up cancelled", "warning"
        elif message.error:
            text, severity = message.error, "error"
        else:
            text, severity = "stack up: every service is up", "information"
        self._log(text)
        self.notify(text, title="Compose", severity=severity)  # type: ignore[arg-type]
        self.action_refresh()

    def action_cancel(self) -> None:
        token = self._up or self._follow
        if token is None:
            self.notify("nothing to cancel", severity="warning")
            return
        token.cancel()

    # ------------------------------------------------------------ control
    def action_control(self, action: Action) -> None:
        service = self.selected()
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        if action == "start":
            self._control(service, action)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._control(service, action)

        detail = "its dependants show as blocked until it is back" if action == "stop" else ""
        self.app.push_screen(
            ConfirmActionModal(f"{action.capitalize()} {service}?", detail, action.capitalize()), confirmed
        )

    @work(thread=True, group="compose-control", exit_on_error=False)
    def _control(self, service: str, action: Action) -> None:
        self.backend.status.control(service, action)
        self.post_message(ServiceControlled(service, action))

    @on(ServiceControlled)
    def controlled(self, message: ServiceControlled) -> None:
        self.notify(f"{message.service}: {message.action} done", title="Compose")
        self.action_refresh()

    # ------------------------------------------------------------ logs
    def action_follow_logs(self) -> None:
        service = self.selected()
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        if self._follow is not None:
            self._follow.cancel()
        self._follow = CancelToken()
        self.following = service
        self.query_one("#compose-log-title", Label).update(f"Log of {service} (following; x stops)")
        self.query_one("#compose-log", RichLog).clear()
        self._follow_logs(service, self._follow)

    @work(thread=True, group="compose-logs", exit_on_error=False)
    def _follow_logs(self, service: str, cancel: CancelToken) -> None:
        batch: list[str] = []
        for line in self.backend.status.follow_logs(service, cancel, 200):
            if cancel.cancelled:
                break
            batch.append(line)
            if len(batch) >= 50 or line:  # small batches: a quiet log shows each line as it comes
                self.post_message(ServiceLogLines(service, batch))
                batch = []
        if batch and not cancel.cancelled:
            self.post_message(ServiceLogLines(service, batch))

    @on(ServiceLogLines)
    def show_log_lines(self, message: ServiceLogLines) -> None:
        if message.service != self.following:
            return
        log = self.query_one("#compose-log", RichLog)
        for line in message.lines:
            log.write(line)
