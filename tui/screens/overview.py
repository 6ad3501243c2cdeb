"""Overview: service table, phase runner with per-task progress, live log and last results."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.widgets import Header, Label
from textual.worker import Worker, WorkerState, get_current_worker

from lakehouse_core.errors import CancelledError, LakehouseError, PhaseFailed
from lakehouse_core.models import PhasePlan
from lakehouse_core.ports import CancelToken
from lakehouse_core.report import NO_TABLES_HINT
from tui.app import RunningPhase
from tui.messages import (
    LastResultsLoaded,
    PhaseFinished,
    PhasePlanLoaded,
    PhaseProgress,
    ServiceControlled,
    ServiceLogsLoaded,
    ServicesSetUp,
    StatusesLoaded,
)
from tui.progress import TuiProgressSink
from tui.screens.base import LakehouseScreen
from tui.screens.modals import ConfirmActionModal, ConfirmPhaseModal, LogsModal
from tui.widgets import fmt
from tui.widgets.footer import LakehouseFooter
from tui.widgets.phase_log import PhaseLog
from tui.widgets.phase_panel import PhaseProgressPanel, PhaseResultsTable, result_summary
from tui.widgets.service_table import ServiceTable

ControlAction = Literal["start", "stop", "restart"]
FINAL_STATES = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class OverviewScreen(LakehouseScreen):
    """Services, phases 1-4, progress, log and last results."""

    CSS_PATH = str(Path(__file__).with_name("overview.tcss"))  # parsed on first show, after the first frame
    TITLE_TEXT = "Overview"
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="overview.refresh"),
        *[Binding(str(n), f"run_phase({n})", f"Phase {n}", id=f"phase.run{n}") for n in range(1, 5)],
        Binding("x", "cancel_phase", "Cancel phase", id="phase.cancel"),
        Binding("u", "control_service('start')", "Start service", id="service.start", show=False),
        Binding("d", "control_service('stop')", "Stop service", id="service.stop", show=False),
        Binding("R", "control_service('restart')", "Restart service", id="service.restart", show=False),
        Binding("l", "service_logs", "Service logs", id="service.logs", show=False),
        Binding("S", "setup_services", "Set up services", id="service.setup", show=False),
        Binding("w", "runs", "Runs", id="overview.runs"),
        Binding("v", "report", "Report", id="overview.report"),
        Binding("a", "dag_runs", "Airflow", id="overview.dag_runs", show=False),
        Binding("c", "compose", "Compose", id="overview.compose", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="overview")
        self._status_worker: Worker[Any] | None = None
        self._cancel: CancelToken | None = None
        self.running_phase: int | None = None
        self._setup_offered = False

    def action_runs(self) -> None:
        """The Runs screen: audits, publish preview, publish or discard."""
        from tui.screens.runs import RunsScreen

        self.app.push_screen(RunsScreen())

    def action_dag_runs(self) -> None:
        """The Airflow screen: the phase-1 DAG's runs, task grid and task logs."""
        from tui.screens.dag_runs import DagRunsScreen

        self.app.push_screen(DagRunsScreen())

    def action_compose(self) -> None:
        """The Compose screen: every service of the stack, stack up, start/stop/restart, logs."""
        from tui.screens.compose import ComposeScreen

        self.app.push_screen(ComposeScreen())

    def action_report(self) -> None:
        """The Report screen: phase 3's revenue trend, top customers, categories, time-travel count."""
        from tui.screens.report import ReportScreen

        self.app.push_screen(ReportScreen())

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="services-box"):
            yield Label(
                "Services (selected row: u start · d stop · R restart · l logs)", classes="section-title"
            )
            yield ServiceTable(id="services")
        with Horizontal(id="phase-box"):
            with Vertical(id="phase-left"):
                yield Label("Phases: 1-4 run · x cancel · v report", classes="section-title")
                yield PhaseResultsTable(id="phase-results")
                yield Label("idle", id="phase-status")
                yield PhaseProgressPanel(id="phase-progress")
            with Vertical(id="phase-right"):
                yield Label("Log", classes="section-title")
                yield PhaseLog(id="phase-log", max_lines=2000)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        # first paint, then load: worker threads importing engines would otherwise delay the first frame
        self.call_after_refresh(self.action_refresh)
        self.call_after_refresh(self.load_last_results)
        if seconds := self.settings.tui.refresh_seconds:
            self.set_interval(seconds, self.action_refresh)

    # ------------------------------------------------------------------ services
    def action_refresh(self) -> None:
        """Probe the services again, unless a probe is still running (a hung probe never piles up)."""
        if self._status_worker is not None and self._status_worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            return
        self._status_worker = self.load_statuses()

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def load_statuses(self) -> None:
        statuses = self.backend.status.statuses()
        if not get_current_worker().is_cancelled:
            self.post_message(StatusesLoaded(statuses))

    @on(StatusesLoaded)
    def show_statuses(self, message: StatusesLoaded) -> None:
        self.query_one(ServiceTable).statuses = message.statuses
        lacking = [s.name for s in message.statuses if s.needs_setup]
        if lacking and not self._setup_offered:
            self._setup_offered = True  # once per screen: the row keeps saying it
            self.notify(
                f"{', '.join(lacking)} answers but is not set up: press S to set it up",
                title="Set-up needed",
                severity="warning",
            )

    def action_setup_services(self) -> None:
        """Create what the services lack (Dremio's first user and sources), like ``lakehouse setup``."""
        if self.backend.setup is None:
            self.notify(f"nothing to set up in {self.backend.mode} mode", title="Set up")
            return
        self.setup_services()

    @work(thread=True, exclusive=True, group="service-setup", exit_on_error=False)
    def setup_services(self) -> None:
        assert self.backend.setup is not None
        self.post_message(ServicesSetUp(self.backend.setup.setup()))

    @on(ServicesSetUp)
    def services_set_up(self, message: ServicesSetUp) -> None:
        self.notify("\n".join(map(str, message.steps)) or "nothing to set up", title="Set up")
        self.action_refresh()

    def selected_service(self) -> str | None:
        """The service under the table's cursor (None while the table is empty)."""
        table = self.query_one(ServiceTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)

    def action_control_service(self, action: ControlAction) -> None:
        """Start (at once), stop or restart (after a confirmation) the selected service."""
        service = self.selected_service()
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        row = next((s for s in self.query_one(ServiceTable).statuses if s.name == service), None)
        if row is not None and row.container is None and row.managed_by:
            # not in a container: no confirmation, the provider's error says how it is controlled
            self.control_service(service, action)
            return
        if not self.backend.status.supports_control:
            why = "embedded mode" if self.backend.mode == "embedded" else "stack mode without a Docker engine"
            self.notify(
                f"cannot {action} {service}: this backend does not control services ({why})",
                title="Not supported",
                severity="warning",
            )
            return
        if action == "start":
            self.control_service(service, action)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.control_service(service, action)

        detail = "its dependants show as blocked until it is back" if action == "stop" else ""
        self.app.push_screen(
            ConfirmActionModal(f"{action.capitalize()} {service}?", detail, action.capitalize()), confirmed
        )

    @work(thread=True, group="service-control", exit_on_error=False)
    def control_service(self, service: str, action: ControlAction) -> None:
        self.backend.status.control(service, action)
        self.post_message(ServiceControlled(service, action))

    @on(ServiceControlled)
    def service_controlled(self, message: ServiceControlled) -> None:
        self.notify(f"{message.service}: {message.action} done", title="Services")
        self.action_refresh()

    def action_service_logs(self) -> None:
        service = self.selected_service()
        if service is None:
            self.notify("no service selected", severity="warning")
            return
        self.load_service_logs(service)

    @work(thread=True, group="service-logs", exit_on_error=False)
    def load_service_logs(self, service: str) -> None:
        self.post_message(ServiceLogsLoaded(service, self.backend.status.logs(service, 200)))

    @on(ServiceLogsLoaded)
    def show_service_logs(self, message: ServiceLogsLoaded) -> None:
        reason = (
            "no logs: embedded components log into this process (see the Log pane and Python logging)"
            if self.backend.mode == "embedded"
            else "no logs: the service runs in no container of the project (or Docker is not reachable)"
        )
        self.app.push_screen(LogsModal(message.service, message.lines, reason))

    # ------------------------------------------------------------------ phases
    @work(thread=True, group="phase-results", exit_on_error=False)
    def load_last_results(self) -> None:
        results = self.backend.phases.last_results()
        self.post_message(LastResultsLoaded(results, self._has_tables()))

    def _has_tables(self) -> bool | None:
        """Whether the catalog holds a table; None when it cannot say (a service is down)."""
        catalog = self.backend.catalog
        try:
            return any(catalog.list_tables(ns) for ns in catalog.list_namespaces())
        except LakehouseError:
            return None

    @on(LastResultsLoaded)
    def show_last_results(self, message: LastResultsLoaded) -> None:
        table = self.query_one(PhaseResultsTable)
        for phase in sorted(message.results):
            table.show(message.results[phase])
        if message.has_tables is False and self.running_phase is None:
            first = 1 not in message.results or not message.results[1].ok
            hint = NO_TABLES_HINT if first else "no tables yet: press 2 (phase 1 has run)"
            self.query_one("#phase-status", Label).update(hint)

    def action_run_phase(self, phase: int) -> None:
        if self.running_phase is not None:
            self.notify(f"phase {self.running_phase} is still running", severity="warning")
            return
        self.load_plan(phase)

    @work(thread=True, group="phase-plan", exit_on_error=False)
    def load_plan(self, phase: int) -> None:
        self.post_message(PhasePlanLoaded(self.backend.phases.plan(phase)))

    @on(PhasePlanLoaded)
    def confirm_phase(self, message: PhasePlanLoaded) -> None:
        plan = message.plan

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.start_phase(plan)

        # the user reads the plan now: a good moment to take what the heap holds out of the cyclic GC's
        # reach, so that no full collection of it pauses the frames while the phase runs
        gc.collect(1)  # young garbage first (a millisecond), so that freezing keeps no dead cycles
        gc.freeze()
        self.app.push_screen(ConfirmPhaseModal(plan), confirmed)

    def start_phase(self, plan: PhasePlan) -> None:
        if self.running_phase is not None:
            self.notify(f"phase {self.running_phase} is still running", severity="warning")
            return
        self.running_phase = plan.phase
        self._cancel = CancelToken()
        self.query_one(PhaseProgressPanel).reset([task.name for task in plan.tasks])
        self.query_one("#phase-status", Label).update(f"phase {plan.phase} running: {plan.title}")
        self.query_one(PhaseLog).add(f"phase {plan.phase} started: {plan.title}")
        self.lakehouse.phase_started(RunningPhase(plan.phase, plan.title, self.action_cancel_phase))
        # start the work once this screen has repainted: closing the confirmation (unmounting it,
        # laying this screen out again) is the UI's biggest burst and should not compete with it
        self.call_after_refresh(self.run_phase, plan.phase, self._cancel)

    @work(thread=True, exclusive=True, group="phase", exit_on_error=False)
    def run_phase(self, phase: int, cancel: CancelToken) -> None:
        try:
            result = self.backend.phases.run(phase, TuiProgressSink(self, min_interval_s=0.1), cancel)
        except PhaseFailed as exc:
            self.post_message(PhaseFinished(phase, exc.partial, error=str(exc)))
            raise
        except CancelledError as exc:
            self.post_message(PhaseFinished(phase, None, error=str(exc), cancelled=True))
            raise
        except BaseException as exc:
            self.post_message(PhaseFinished(phase, None, error=f"phase {phase} failed: {exc}"))
            raise
        self.post_message(PhaseFinished(phase, result))

    @on(Worker.StateChanged)
    def phase_worker_ended(self, event: Worker.StateChanged) -> None:
        """The phase's thread has returned (not just posted its result): the App may exit now."""
        if event.worker.group == "phase" and event.state in FINAL_STATES:
            self.lakehouse.phase_stopped()

    @on(PhaseProgress)
    def show_progress(self, message: PhaseProgress) -> None:
        event = message.event
        if event.kind == "log":
            self.query_one(PhaseLog).add(f"[{event.task}] {event.message}")
            return
        if event.kind in ("start", "finish"):
            text = f"[{event.task}] {event.kind}" + (f": {event.message}" if event.message else "")
            self.query_one(PhaseLog).add(text)
        self.query_one(PhaseProgressPanel).apply(event)

    @on(PhaseFinished)
    def phase_finished(self, message: PhaseFinished) -> None:
        self.running_phase = None
        self._cancel = None
        status = self.query_one("#phase-status", Label)
        log = self.query_one(PhaseLog)
        if message.result is not None:
            self.query_one(PhaseResultsTable).show(message.result)
        if message.cancelled:
            status.update(f"phase {message.phase} cancelled")
            log.add(f"phase {message.phase} cancelled")
        elif message.error is not None:
            status.update(message.error)
            log.add(message.error)
        elif message.result is not None:
            result = message.result
            summary = (
                f"phase {result.phase} finished in {fmt.seconds(result.seconds)}: "
                f"{result_summary(result)}; quality failures {result.quality_failures}; "
                f"snapshots {len(result.snapshots)}"
            )
            status.update(summary)
            log.add(summary)
            # one piece of work per frame: the toast after this repaint, the service probe after that
            self.call_after_refresh(self._announce, summary, f"Phase {result.phase} done")
            return
        self.call_after_refresh(self.action_refresh)

    def _announce(self, summary: str, title: str) -> None:
        self.notify(summary, title=title)
        self.call_after_refresh(self.action_refresh)

    def action_cancel_phase(self) -> None:
        if self._cancel is None:
            self.notify("no phase is running", severity="warning")
            return
        self._cancel.cancel()
        self.query_one("#phase-status", Label).update(f"phase {self.running_phase} cancelling…")
