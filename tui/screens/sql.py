"""SQL: editor, as-of selector, capped results grid, history, export, cancel, in-place errors."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Input, Label, Static, TextArea

from lakehouse_core.errors import CancelledError, QueryError
from lakehouse_core.models import AsOf, QueryResult
from tui.export import ExportFormat, export_result
from tui.messages import QueryFailed, QueryFinished, QueryPreviewed
from tui.screens.base import LakehouseScreen
from tui.screens.modals import InputModal
from tui.sqltext import parse_as_of, statement_at
from tui.widgets import fmt
from tui.widgets.footer import LakehouseFooter
from tui.widgets.results_table import ResultsTable, result_summary
from tui.widgets.sql_editor import SqlEditor

CANCELLED_TEXT = "query cancelled by user"
DEFAULT_SQL = "SELECT * FROM gold.daily_sales ORDER BY date DESC;\n"


@dataclass(frozen=True)
class HistoryEntry:
    """One executed statement."""

    sql: str
    as_of: str
    seconds: float
    rows: int | None
    error: str | None = None


class SqlScreen(LakehouseScreen):
    """Run SQL against the lakehouse, optionally as of a ref, snapshot or time."""

    CSS_PATH = str(Path(__file__).with_name("sql.tcss"))  # parsed on first show, after the first frame
    TITLE_TEXT = "SQL"
    BINDINGS = [
        Binding("ctrl+enter,ctrl+r,f5", "run", "Run", id="sql.run", priority=True),
        Binding("ctrl+g", "cancel_query", "Cancel", id="sql.cancel", priority=True),
        Binding("ctrl+o", "focus_history", "History", id="sql.history"),
        Binding("ctrl+l", "focus_as_of", "As of", id="sql.as_of"),
        Binding("f8", "export('csv')", "Export CSV", id="sql.export_csv"),
        Binding("f9", "export('parquet')", "Export Parquet", id="sql.export_parquet"),
        Binding("f10", "focus_editor", "Editor", id="sql.editor"),
    ]

    def __init__(self) -> None:
        super().__init__(id="sql")
        self.result: QueryResult | None = None
        self.history: list[HistoryEntry] = []
        self.running = False
        self.previewing = False  # the first page is shown, the engine still reads the rest
        self._cancel = threading.Event()
        self._started = 0.0
        self._exports = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="sql-body"):
            with Vertical(id="sql-main"):
                yield SqlEditor(DEFAULT_SQL, id="editor")
                with Horizontal(id="sql-toolbar"):
                    yield Label("as of", id="as-of-label")
                    yield Input(placeholder="current · ref · snapshot id · ISO time", id="as-of")
                    yield Label("ready", id="sql-status")
                yield Label("", id="result-summary")
                yield Static("", id="query-error")
                yield ResultsTable(id="results")
            with Vertical(id="sql-side"):
                yield Label("History (enter re-runs)", classes="section-title")
                yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).add_columns("#", "Rows", "Time", "SQL")
        self.query_one("#query-error").display = False
        self.query_one(TextArea).focus()

    # ------------------------------------------------------------------ run
    def current_statement(self) -> str:
        editor = self.query_one(TextArea)
        return editor.selected_text.strip() or statement_at(editor.text, editor.cursor_location)

    def action_run(self) -> None:
        self.run_sql(self.current_statement(), self.query_one("#as-of", Input).value)

    def run_sql(self, sql: str, as_of_text: str) -> None:
        """Run ``sql`` as of ``as_of_text`` (see parse_as_of) unless a query is running."""
        if not sql:
            self.notify("nothing to run: the editor is empty", severity="warning")
            return
        if self.running:
            self.notify("a query is still running (ctrl+g cancels it)", severity="warning")
            return
        self.running = True
        self.previewing = False
        self._cancel = threading.Event()
        self._started = time.monotonic()
        as_of = parse_as_of(as_of_text)
        self.query_one("#sql-status", Label).update(f"running{' ' + as_of.describe() if as_of else ''}…")
        self.execute(sql, as_of, self._cancel)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def execute(self, sql: str, as_of: AsOf | None, cancel: threading.Event) -> None:
        """Run ``sql`` once; the engine's first page is shown while it reads the rest."""
        started = time.monotonic()
        try:
            result = self._fetch(sql, as_of, cancel)
        except CancelledError as exc:
            self.post_message(QueryFailed(sql, str(exc), time.monotonic() - started, cancelled=True))
            raise
        except QueryError as exc:
            self.post_message(QueryFailed(sql, str(exc), time.monotonic() - started))
            raise
        except BaseException as exc:
            self.post_message(QueryFailed(sql, f"{type(exc).__name__}: {exc}", time.monotonic() - started))
            raise
        self.post_message(QueryFinished(result))

    def _fetch(self, sql: str, as_of: AsOf | None, cancel: threading.Event) -> QueryResult:
        def first_page(first: QueryResult) -> None:
            self.post_message(QueryPreviewed(first))

        result = self.backend.sql.execute(
            sql, limit=self.settings.tui.fetch_limit, as_of=as_of, on_first_page=first_page
        )
        if cancel.is_set():  # cancelled after the engine's last batch: nothing left to interrupt
            raise CancelledError(CANCELLED_TEXT)
        return result

    @on(QueryPreviewed)
    def show_preview(self, message: QueryPreviewed) -> None:
        """Show the first page at once; the full result replaces it (same columns, cursor kept)."""
        if not self.running or self._cancel.is_set():
            return
        first = message.result
        self.previewing = True
        self.query_one("#query-error").display = False
        grid = self.query_one(ResultsTable)
        grid.display = True
        grid.show_result(first, self.settings.tui.display_cap)
        shown = min(first.row_count, self.settings.tui.display_cap)
        self.query_one("#result-summary", Label).update(
            f"showing the first {shown:,} rows · loading all rows… · {first.engine}"
        )
        self.query_one("#sql-status", Label).update("loading all rows…")

    @on(QueryFinished)
    def show_result(self, message: QueryFinished) -> None:
        result = message.result
        self.running = False
        self.result = result
        tui = self.settings.tui
        self.query_one("#query-error").display = False
        grid = self.query_one(ResultsTable)
        grid.display = True
        grid.show_result(result, tui.display_cap, keep_position=self.previewing)
        self.previewing = False
        self.query_one("#result-summary", Label).update(
            result_summary(result, tui.display_cap, tui.fetch_limit)
        )
        self.query_one("#sql-status", Label).update("ready")
        as_of = result.as_of.describe() if result.as_of else "current"
        self._remember(
            HistoryEntry(result.sql or self.current_statement(), as_of, result.elapsed_s, result.row_count)
        )

    @on(QueryFailed)
    def show_error(self, message: QueryFailed) -> None:
        self.running = False
        self.previewing = False
        status = "cancelled" if message.cancelled else "failed"
        error = self.query_one("#query-error", Static)
        error.update(f"Query {status}: {message.message}")
        error.display = True
        self.query_one(ResultsTable).display = False
        self.query_one("#result-summary", Label).update(f"query {status}")
        self.query_one("#sql-status", Label).update("ready")
        self._remember(HistoryEntry(message.sql, "", message.elapsed_s, None, message.message))

    def _remember(self, entry: HistoryEntry) -> None:
        self.history.append(entry)
        table = self.query_one("#history", DataTable)
        one_line = " ".join(entry.sql.split())
        failed = entry.error is not None
        table.add_row(
            str(len(self.history)),
            "error" if failed else fmt.count(entry.rows),
            "-" if failed else fmt.seconds(entry.seconds),  # engine time; failures have none
            one_line[:60],
            key=str(len(self.history)),
        )

    @on(DataTable.RowSelected, "#history")
    def rerun(self, event: DataTable.RowSelected) -> None:
        entry = self.history[int(str(event.row_key.value)) - 1]
        self.query_one(TextArea).text = entry.sql
        self.run_sql(entry.sql, self.query_one("#as-of", Input).value)

    # ------------------------------------------------------------------ cancel
    def action_cancel_query(self) -> None:
        if not self.running:
            self.notify("no query is running", severity="warning")
            return
        if not self.backend.sql.supports_cancel:
            self.notify(f"the {self.backend.sql.name} engine cannot cancel queries", severity="warning")
            return
        self.query_one("#sql-status", Label).update("cancelling…")
        self._cancel.set()  # a result that arrives anyway is dropped
        self.cancel_query()

    @work(thread=True, group="sql-cancel", exit_on_error=False)
    def cancel_query(self) -> None:
        self.backend.sql.cancel()

    # ------------------------------------------------------------------ focus
    def action_focus_history(self) -> None:
        self.query_one("#history", DataTable).focus()

    def action_focus_as_of(self) -> None:
        self.query_one("#as-of", Input).focus()

    def action_focus_editor(self) -> None:
        self.query_one(TextArea).focus()

    @on(Input.Submitted, "#as-of")
    def as_of_submitted(self) -> None:
        self.action_run()

    # ------------------------------------------------------------------ export
    def action_export(self, fmt_name: str) -> None:
        result = self.result
        if result is None:
            self.notify("run a query first", severity="warning")
            return
        ext: ExportFormat = "parquet" if fmt_name == "parquet" else "csv"
        self._exports += 1
        default = self.settings.data_path / "exports" / f"result-{self._exports}.{ext}"

        def chosen(path: str | None) -> None:
            if path:
                self.export(result, Path(path).expanduser(), ext)

        self.app.push_screen(
            InputModal(f"Export {result.row_count:,} rows to {ext.upper()}", str(default)), chosen
        )

    @work(thread=True, group="sql-export", exit_on_error=False)
    def export(self, result: QueryResult, path: Path, ext: ExportFormat) -> None:
        rows = export_result(result, path, ext)
        self.app.call_from_thread(self.notify, f"exported {rows:,} rows to {path}", title="Export done")
