"""Runs: phase 1-2 runs with their audits and a publish preview; publish, discard, jump to snapshots."""

from __future__ import annotations

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, Static

from lakehouse_core.models import RunInfo, TableRef
from lakehouse_core.ports import RunControl
from tui.messages import RunChanged, RunPreviewLoaded, RunsLoaded
from tui.screens.base import LakehouseScreen
from tui.screens.modals import ConfirmActionModal
from tui.widgets.footer import LakehouseFooter

NO_RUNS = "escape, then 1 (phase 1), then 2 (phase 2)"
CSS = """
RunsScreen #runs-box { width: 3fr; border: round $primary; }
RunsScreen #run-box { width: 4fr; border: round $primary; }
RunsScreen #runs, RunsScreen #run-tables { height: 1fr; }
RunsScreen #run-audits { height: auto; max-height: 12; }
RunsScreen.-narrow #runs-panes { layout: vertical; }
RunsScreen.-narrow #runs-box, RunsScreen.-narrow #run-box { width: 1fr; height: 1fr; }
RunsScreen.-narrow #run-audits { max-height: 5; }
"""
NARROW_BELOW = 120
"""Below this width the run list and the selected run's details are stacked: side by side, the list
would cut its state column at 80 columns."""


class RunsScreen(LakehouseScreen):
    """Pushed from the Overview; every call goes through ``app.backend.runs``."""

    DEFAULT_CSS = CSS
    TITLE_TEXT = "Runs"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="runs.close"),
        Binding("r", "refresh", "Refresh", id="runs.refresh"),
        Binding("p", "publish", "Publish", id="runs.publish"),
        Binding("x", "discard", "Discard", id="runs.discard"),
        Binding("s", "snapshots", "Snapshots", id="runs.snapshots"),
    ]

    def __init__(self) -> None:
        super().__init__(id="runs-screen")
        self.runs: list[RunInfo] = []
        self.selected: RunInfo | None = None

    @property
    def control(self) -> RunControl | None:
        return self.backend.runs

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="runs-panes"):
            with Vertical(id="runs-box"):
                yield Label("Runs of phases 1-2 · p publish · x discard", classes="section-title")
                yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="run-box"):
                yield Label("", id="run-title", markup=False)
                yield Static("", id="run-audits", markup=False)
                yield DataTable(id="run-tables", cursor_type="row")
        yield LakehouseFooter()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "-narrow")

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < NARROW_BELOW, "-narrow")
        self.query_one("#runs", DataTable).add_columns("run", "phase", "state", "audits", "published")
        self.query_one("#run-tables", DataTable).add_columns("table", "published rows", "run rows", "delta")
        self.action_refresh()

    # ------------------------------------------------------------ loading
    def action_refresh(self) -> None:
        if self.control is None:
            self.query_one("#run-title", Label).update(f"{self.backend.mode} mode keeps no runs")
            return
        self._load_runs()

    @work(thread=True, exclusive=True, group="runs")
    def _load_runs(self) -> None:
        assert self.control is not None
        self.post_message(RunsLoaded(self.control.list_runs()))

    @on(RunsLoaded)
    def show_runs(self, message: RunsLoaded) -> None:
        self.runs = message.runs
        table = self.query_one("#runs", DataTable)
        table.clear()
        for run in self.runs:
            table.add_row(
                Text(run.run_id),
                str(run.phase),
                Text(run.state),
                Text(run.audit_summary),
                "yes" if run.published else "",
                key=run.run_id,
            )
        if self.runs:
            self._load_preview(self.runs[0].run_id)
        else:
            self.query_one("#run-title", Label).update(f"no runs yet: {NO_RUNS}")

    @on(DataTable.RowHighlighted, "#runs")
    def run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and self.control is not None:
            self._load_preview(str(event.row_key.value))

    @work(thread=True, exclusive=True, group="run")
    def _load_preview(self, run_id: str) -> None:
        assert self.control is not None
        self.post_message(RunPreviewLoaded(self.control.run(run_id), self.control.preview(run_id)))

    @on(RunPreviewLoaded)
    def show_preview(self, message: RunPreviewLoaded) -> None:
        run, preview = message.run, message.preview
        self.selected = run
        live = " · what readers see" if run.published else ""
        source = f" · from phase-1 run {run.source_run}" if run.source_run else ""
        self.query_one("#run-title", Label).update(
            f"run {run.run_id} · phase {run.phase} · {run.state}{live}{source}"
        )
        lines = [f"{'ok    ' if a.ok else 'FAILED'} {a.name}: {a.detail}" for a in run.audits]
        if run.error:
            lines.append(f"error: {run.error}")
        lines.append("publishable" if preview.publishable else f"not publishable: {preview.reason}")
        self.query_one("#run-audits", Static).update("\n".join(lines))
        table = self.query_one("#run-tables", DataTable)
        table.clear()
        for t in preview.tables:
            before = "-" if t.published_rows is None else f"{t.published_rows:,}"
            table.add_row(Text(t.table), before, f"{t.run_rows:,}", f"{t.delta:+,}", key=t.table)

    # ------------------------------------------------------------ actions
    def _ask(self, verb: str, action: str) -> None:
        run = self.selected
        if run is None or self.control is None:
            return

        def answered(ok: bool | None) -> None:
            if ok:
                self._change(run.run_id, action)

        detail = f"phase {run.phase}, {run.state}; audits {run.audit_summary}"
        self.app.push_screen(ConfirmActionModal(f"{verb} run {run.run_id}?", detail, verb), answered)

    def action_publish(self) -> None:
        self._ask("Publish", "publish")

    def action_discard(self) -> None:
        self._ask("Discard", "discard")

    @work(thread=True, exclusive=True, group="run-change")
    def _change(self, run_id: str, action: str) -> None:
        assert self.control is not None
        run = self.control.publish(run_id) if action == "publish" else self.control.discard(run_id)
        self.post_message(RunChanged(run, action))

    @on(RunChanged)
    def run_changed(self, message: RunChanged) -> None:
        self.notify(f"run {message.run.run_id}: {message.run.state}", title=message.action.capitalize())
        self.action_refresh()

    def action_snapshots(self) -> None:
        """Open the Catalog on the highlighted table of a phase-2 run (its snapshots tab)."""
        table = self.query_one("#run-tables", DataTable)
        if self.selected is None or self.selected.phase != 2 or table.row_count == 0:
            self.notify("choose a table of a phase-2 run", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        # on the App's loop: this screen's own loop ends when it is popped
        self.app.call_later(_open_in_catalog, self.app, TableRef.parse(str(key)))

    def action_close(self) -> None:
        self.app.pop_screen()


async def _open_in_catalog(app: App[None], table: TableRef) -> None:
    """Close the Runs screen, switch to the Catalog and show ``table``'s snapshots there."""
    from tui.screens.catalog import CatalogScreen

    await app.pop_screen()
    await app.switch_mode("catalog")
    if isinstance(app.screen, CatalogScreen):
        app.screen.open_table(table)
