"""The SQL screen's actions on whole results: one statement on two refs side by side, and export.

``SqlScreen`` (``tui.screens.sql``) builds on this class and has the editor, running and history."""

from __future__ import annotations

import dataclasses
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual import work
from textual.widget import Widget
from textual.widgets import Label

from lakehouse_core.models import AsOf, QueryComparison, QueryResult
from lakehouse_core.ports import CancelToken
from tui.export import ExportFormat, export_result
from tui.screens.base import LakehouseScreen
from tui.screens.modals import ChoiceModal, InputModal
from tui.screens.sql_parts import CompareFinished
from tui.sqltext import with_ref
from tui.widgets.compare_view import CompareView, compare_summary, version_name

W = TypeVar("W", bound=Widget)


class SqlActions(LakehouseScreen):
    """Compare and export; the state and helpers they use are SqlScreen's."""

    running: bool
    previewing: bool
    ref_names: list[str]
    result: QueryResult | None
    comparison: QueryComparison | None
    _cancel: threading.Event
    _compare_cancel: CancelToken | None
    _as_of: AsOf | None
    _exports: int

    if TYPE_CHECKING:

        def current_statement(self) -> str: ...

        def typed_as_of(self) -> tuple[bool, AsOf | None]: ...

        def _can_start(self, sql: str) -> bool: ...

        def _failures(self, sql: str) -> AbstractContextManager[None]: ...

        def _show_only(self, shown: W) -> W: ...

    # ------------------------------------------------------------------ two refs side by side
    def action_compare(self) -> None:
        """Run the statement on the picked ref and on a second ref chosen now, side by side."""
        sql = self.current_statement()
        if self.backend.compare is None:
            self.notify("this mode cannot compare refs", severity="warning")
            return
        if not self._can_start(sql):
            return
        ok, left = self.typed_as_of()
        if not ok:
            return
        others = [name for name in self.ref_names if name != (left.ref if left else None)]
        if not others:
            self.notify("no other ref to compare with", severity="warning")
            return

        def chosen(ref: str | None) -> None:
            if ref:
                right = with_ref(dataclasses.replace(left, ref=None), ref) if left else AsOf(ref=ref)
                self.run_compare(sql, left, right)

        self.app.push_screen(
            ChoiceModal(f"Compare {version_name(left)} with", [(n, n) for n in others]), chosen
        )

    def run_compare(self, sql: str, left: AsOf | None, right: AsOf | None) -> None:
        """Run ``sql`` as of ``left`` and ``right`` and show both grids (unless a query is running)."""
        if not self._can_start(sql):
            return
        self.running = True
        self.previewing = False
        self._cancel = threading.Event()
        self._compare_cancel = CancelToken()
        self._as_of = left
        versions = f"{version_name(left)} ↔ {version_name(right)}"
        self.query_one("#sql-status", Label).update(f"comparing {versions}…")
        self.compare(sql, left, right, self._compare_cancel)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def compare(self, sql: str, left: AsOf | None, right: AsOf | None, cancel: CancelToken) -> None:
        assert self.backend.compare is not None
        with self._failures(sql):
            comparison = self.backend.compare.compare(
                sql, left, right, limit=self.settings.tui.fetch_limit, cancel=cancel
            )
        self.post_message(CompareFinished(comparison))

    def on_compare_finished(self, message: CompareFinished) -> None:
        comparison = message.comparison
        self.running = False
        self.comparison = comparison
        view = self._show_only(self.query_one(CompareView))
        view.show(comparison, self.settings.tui.display_cap)
        self.query_one("#result-summary", Label).update(compare_summary(comparison))
        self.query_one("#sql-status", Label).update("ready")

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
