"""SQL: editor with completion, schema browser, ref picker and as-of selector, capped results grid,
one statement on two refs side by side, history, export, cancel, in-place errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Header, Input, Label, OptionList, Select, Static, TabbedContent, TabPane, Tree
from textual.widgets.option_list import Option

from lakehouse_core.errors import CancelledError, LakehouseError, QueryError
from lakehouse_core.models import AsOf, QueryComparison, QueryResult
from lakehouse_core.ports import CancelToken
from lakehouse_core.report import NO_TABLES_ELSEWHERE
from lakehouse_core.sqlparse import Vocabulary, vocabulary
from tui.messages import QueryFailed, QueryFinished, QueryPreviewed
from tui.screens.sql_actions import SqlActions
from tui.screens.sql_parts import (
    HistoryEntry,
    RefsLoaded,
    SchemaFailed,
    SchemaLoaded,
    VocabularyLoaded,
)
from tui.sqlcomplete import Completion, Schema, complete, load_schema
from tui.sqltext import parse_as_of, ref_choices, split_ref, statement_at, with_ref
from tui.widgets.compare_view import CompareView
from tui.widgets.completion_list import CompletionList
from tui.widgets.footer import LakehouseFooter
from tui.widgets.results_table import ResultsTable, result_summary
from tui.widgets.schema_tree import SchemaTree
from tui.widgets.sql_editor import SqlEditor

CANCELLED_TEXT = "query cancelled by user"
DEFAULT_SQL = "SELECT * FROM gold.daily_sales ORDER BY date DESC;\n"


NO_SCHEMA = Schema((), ())
W = TypeVar("W", bound=Widget)


class SqlScreen(SqlActions):
    """Run SQL against the lakehouse, optionally as of a ref, snapshot or time."""

    CSS_PATH = str(Path(__file__).with_name("sql.tcss"))  # parsed on first show, after the first frame
    TITLE_TEXT = "SQL"
    BINDINGS = [
        # the footer shows the first key: ctrl+enter never arrives inside tmux and many terminals
        Binding("ctrl+r,f5,ctrl+enter", "run", "Run", id="sql.run", priority=True),
        Binding("ctrl+g", "cancel_query", "Cancel", id="sql.cancel", priority=True),
        Binding("ctrl+s", "focus_schema", "Schema", id="sql.schema"),
        Binding("ctrl+o", "focus_history", "History", id="sql.history"),
        Binding("f7", "select_all", "Select all", id="sql.select_all"),
        Binding("ctrl+space,ctrl+@", "complete", "Complete", id="sql.complete", show=False),
        Binding("ctrl+l", "focus_as_of", "As of", id="sql.as_of"),
        Binding("ctrl+n", "focus_ref", "Ref", id="sql.ref"),
        Binding("ctrl+f", "compare", "Compare", id="sql.compare", priority=True),
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
        self._as_of: AsOf | None = None
        self._compare_cancel: CancelToken | None = None
        self.ref_names: list[str] = []
        self.comparison: QueryComparison | None = None
        self.schema: Schema | None = None
        self.vocabulary: Vocabulary | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="sql-body"):
            with TabbedContent(id="sql-side", initial="schema-tab"):
                with TabPane("Schema", id="schema-tab"):
                    yield SchemaTree(id="schema")
                    yield Label("⏎ inserts · space opens", classes="hint")
                with TabPane("History", id="history-tab"):
                    yield OptionList(id="history")
                    yield Label("newest first · ⏎ re-runs", classes="hint")
            with Vertical(id="sql-main"):
                yield SqlEditor(DEFAULT_SQL, id="editor")
                with Horizontal(id="sql-toolbar"):
                    yield Label("ref", id="ref-label")
                    yield Select[str]([], prompt="current", id="ref")
                    yield Label("as of", id="as-of-label")
                    yield Input(placeholder="current · ref · snapshot id · ISO time", id="as-of")
                    yield Label("ready", id="sql-status")
                yield Label("", id="result-summary")
                yield Static("", id="query-error")
                yield ResultsTable(id="results")
                yield CompareView(id="compare")
        yield CompletionList(id="completions")
        yield LakehouseFooter()

    @property
    def editor(self) -> SqlEditor:
        return self.query_one("#editor", SqlEditor)

    def on_mount(self) -> None:
        self.query_one("#query-error").display = False
        self.query_one(CompareView).display = False
        self.query_one(SchemaTree).show_message("loading the catalog…")
        self.editor.completer = self.completions
        self.editor.focus()
        self.load_vocabulary()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.load_schema()  # tables may have come or gone since the screen was last shown
        self.load_refs()

    # ------------------------------------------------------------------ schema + completion
    @work(thread=True, exclusive=True, group="sql-schema", exit_on_error=False)
    def load_schema(self) -> None:
        try:
            schema = load_schema(self.backend.catalog)
        except LakehouseError as exc:
            self.post_message(SchemaFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - any catalog failure is shown in the browser
            self.post_message(SchemaFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SchemaLoaded(schema))

    @work(thread=True, exclusive=True, group="sql-refs", exit_on_error=False)
    def load_refs(self) -> None:
        """The ref picker's choices: Nessie's branches and tags (stack), the tables' refs (embedded)."""
        try:
            refs = self.backend.catalog.list_refs()
        except Exception:  # noqa: BLE001 - the picker keeps its choices; queries show the real error
            return
        self.post_message(RefsLoaded(refs))

    @on(RefsLoaded)
    def show_refs(self, message: RefsLoaded) -> None:
        choices = ref_choices(message.refs)
        names = [name for name, _ in choices]
        if names == self.ref_names:
            return
        picker = self.query_one("#ref", Select)
        chosen = picker.value
        self.ref_names = names
        picker.set_options([(label, name) for name, label in choices])
        if isinstance(chosen, str) and chosen in names:
            picker.value = chosen

    @property
    def picked_ref(self) -> str | None:
        """The ref picker's choice (None: the backend's current ref)."""
        value = self.query_one("#ref", Select).value
        return value if isinstance(value, str) else None

    def chosen_as_of(self) -> AsOf | None:
        """What the ref picker and the as-of field select together."""
        return with_ref(parse_as_of(self.query_one("#as-of", Input).value), self.picked_ref)

    @work(thread=True, group="sql-vocabulary", exit_on_error=False)
    def load_vocabulary(self) -> None:
        self.post_message(VocabularyLoaded(vocabulary()))

    @on(SchemaLoaded)
    def show_schema(self, message: SchemaLoaded) -> None:
        self.schema = message.schema
        self.query_one(SchemaTree).show_schema(message.schema)

    @on(SchemaFailed)
    def schema_failed(self, message: SchemaFailed) -> None:
        if self.schema is None:
            self.query_one(SchemaTree).show_message(f"catalog not readable: {message.message}")

    @on(VocabularyLoaded)
    def vocabulary_loaded(self, message: VocabularyLoaded) -> None:
        self.vocabulary = message.vocabulary

    def completions(self, word: str, before: str) -> list[Completion]:
        """Proposals for ``word`` in the statement under the cursor (cached catalog and words)."""
        editor = self.editor
        statement = statement_at(editor.text, editor.cursor_location)
        return complete(word, statement, self.schema or NO_SCHEMA, self.vocabulary, before)

    def action_complete(self) -> None:
        self.editor.focus()
        self.editor.open_completions(explicit=True)

    @on(Tree.NodeSelected, "#schema")
    def insert_name(self, event: Tree.NodeSelected[str]) -> None:
        """Enter on a namespace, table or column inserts its SQL name at the editor's cursor."""
        name = event.node.data
        if name:
            self.editor.insert_at_cursor(name)

    # ------------------------------------------------------------------ run
    def current_statement(self) -> str:
        editor = self.editor
        return editor.selected_text.strip() or statement_at(editor.text, editor.cursor_location)

    def typed_as_of(self) -> tuple[bool, AsOf | None]:
        """``(ok, as_of)`` from the picker and the field; a bad field value is said and not run."""
        try:
            return True, self.chosen_as_of()
        except ValueError as exc:
            self.notify(str(exc), title="As of", severity="error", markup=False)
            return False, None

    def action_run(self) -> None:
        ok, as_of = self.typed_as_of()
        if ok:
            self.run_sql(self.current_statement(), as_of)

    def _can_start(self, sql: str) -> bool:
        if not sql:
            self.notify("nothing to run: the editor is empty", severity="warning")
            return False
        if self.running:
            self.notify("a query is still running (ctrl+g cancels it)", severity="warning")
            return False
        return True

    def run_sql(self, sql: str, as_of: AsOf | None) -> None:
        """Run ``sql`` as of ``as_of`` unless a query is running."""
        if not self._can_start(sql):
            return
        self.running = True
        self.previewing = False
        self._cancel = threading.Event()
        self._started = time.monotonic()
        self._as_of = as_of
        self.query_one("#sql-status", Label).update(f"running{' ' + as_of.describe() if as_of else ''}…")
        self.execute(sql, as_of, self._cancel)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def execute(self, sql: str, as_of: AsOf | None, cancel: threading.Event) -> None:
        """Run ``sql`` once; the engine's first page is shown while it reads the rest."""
        with self._failures(sql):
            result = self._fetch(sql, as_of, cancel)
        self.post_message(QueryFinished(result))

    @contextmanager
    def _failures(self, sql: str) -> Iterator[None]:
        """Report an exception of the block as QueryFailed (then re-raise it for the worker)."""
        started = time.monotonic()
        try:
            yield
        except CancelledError as exc:
            self.post_message(QueryFailed(sql, str(exc), time.monotonic() - started, cancelled=True))
            raise
        except QueryError as exc:
            self.post_message(QueryFailed(sql, str(exc), time.monotonic() - started))
            raise
        except BaseException as exc:
            self.post_message(QueryFailed(sql, f"{type(exc).__name__}: {exc}", time.monotonic() - started))
            raise

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
        grid = self._show_only(self.query_one(ResultsTable))
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
        grid = self._show_only(self.query_one(ResultsTable))
        grid.show_result(result, tui.display_cap, keep_position=self.previewing)
        self.previewing = False
        self.query_one("#result-summary", Label).update(
            result_summary(result, tui.display_cap, tui.fetch_limit)
        )
        self.query_one("#sql-status", Label).update("ready")
        sql = result.sql or self.current_statement()
        self._remember(HistoryEntry(sql, self._as_of, result.elapsed_s, result.row_count))

    def _show_only(self, shown: W) -> W:
        """Show ``shown``, one of the result area's widgets (grid, two-ref view, error), hide the others."""
        for widget in self.query("#query-error, #results, #compare"):
            widget.display = widget is shown
        return shown

    @on(QueryFailed)
    def show_error(self, message: QueryFailed) -> None:
        self.running = False
        self.previewing = False
        status = "cancelled" if message.cancelled else "failed"
        error = self.query_one("#query-error", Static)
        empty = self.schema is not None and not self.schema.tables
        hint = f"\n{NO_TABLES_ELSEWHERE}" if empty else ""
        error.update(Text(f"Query {status}: {message.message}{hint}"))  # engine text is never markup
        self._show_only(error)
        self.query_one("#result-summary", Label).update(f"query {status}")
        self.query_one("#sql-status", Label).update("ready")
        self._remember(HistoryEntry(message.sql, self._as_of, message.elapsed_s, None, message.message))

    def _remember(self, entry: HistoryEntry) -> None:
        """Add ``entry`` to the history list, which shows the newest first."""
        self.history.append(entry)
        listing = self.query_one("#history", OptionList)
        listing.clear_options()
        options: list[Option | None] = []
        for number in range(len(self.history), 0, -1):
            options += [Option(self.history[number - 1].prompt(number), id=str(number)), None]
        listing.add_options(options[:-1])
        listing.highlighted = 0

    @on(OptionList.OptionSelected, "#history")
    def rerun(self, event: OptionList.OptionSelected) -> None:
        """Run a history entry again, as of the same version."""
        entry = self.history[int(str(event.option_id)) - 1]
        self.editor.text = entry.sql
        ref, text = split_ref(entry.as_of)
        picker = self.query_one("#ref", Select)
        if ref in self.ref_names:
            picker.value = ref
        else:
            picker.clear()
        self.query_one("#as-of", Input).value = text
        self.run_sql(entry.sql, entry.as_of)

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
        if self._compare_cancel is not None:
            self._compare_cancel.cancel()
        self.cancel_query()

    @work(thread=True, group="sql-cancel", exit_on_error=False)
    def cancel_query(self) -> None:
        self.backend.sql.cancel()

    # ------------------------------------------------------------------ focus
    def action_focus_history(self) -> None:
        self.query_one(TabbedContent).active = "history-tab"
        self.query_one("#history", OptionList).focus()

    def action_focus_schema(self) -> None:
        self.query_one(TabbedContent).active = "schema-tab"
        tree = self.query_one(SchemaTree)
        tree.focus()
        if tree.cursor_line < 0:
            tree.cursor_line = 0

    def action_select_all(self) -> None:
        self.editor.focus()
        self.editor.select_all()

    def action_focus_as_of(self) -> None:
        self.query_one("#as-of", Input).focus()

    def action_focus_ref(self) -> None:
        self.query_one("#ref", Select).focus()

    def action_focus_editor(self) -> None:
        self.editor.focus()

    @on(Input.Submitted, "#as-of")
    def as_of_submitted(self) -> None:
        self.action_run()
