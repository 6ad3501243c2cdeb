"""Nessie refs (stack mode): branches and tags with their commit logs; create, merge, delete.

Pushed from the Catalog (``n``). Every call goes through ``app.backend.refs`` (ports.RefControl).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label

from lakehouse_core.models import CommitInfo, MergeResult, RefInfo
from lakehouse_core.ports import RefControl
from tui.messages import CommitLogLoaded, MergePreviewed, NessieRefsLoaded, RefCreated, RefDeleted
from tui.screens.base import LakehouseScreen
from tui.screens.modals import ConfirmActionModal, InputModal
from tui.widgets import fmt
from tui.widgets.footer import LakehouseFooter

LOG_LIMIT = 100

CSS = """
NessieRefsScreen #refs-box { width: 3fr; border: round $primary; }
NessieRefsScreen #log-box { width: 5fr; border: round $primary; }
NessieRefsScreen #refs-box:focus-within, NessieRefsScreen #log-box:focus-within { border: round $accent; }
NessieRefsScreen #nessie-refs, NessieRefsScreen #commit-log { height: 1fr; }
NessieRefsScreen #log-title { padding: 0 1; }
"""


REF_COLUMNS = ("Ref", "Kind", "Head")
LOG_COLUMNS = ("Commit", "Author", "Message", "Tables", "Time")  # what a narrow pane shows first
MAX_COLUMN = 80


def fill(grid: DataTable[Text], columns: tuple[str, ...], rows: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Replace ``grid``'s rows (key, cells); each column as wide as its widest cell (at most
    ``MAX_COLUMN``), set here rather than measured by the grid when idle, which a terminal with no
    further event would show at the headers' widths."""
    grid.clear(columns=True)
    for i, label in enumerate(columns):
        widest = max((cell_len(cells[i]) for _, cells in rows), default=0)
        grid.add_column(label, width=min(MAX_COLUMN, max(cell_len(label), widest)))
    for key, cells in rows:
        grid.add_row(*(Text(c) for c in cells), key=key)


def merge_summary(result: MergeResult) -> str:
    """The tables a merge changes (or changed) and its conflicts, one per line."""
    return "\n".join(result.change_lines())


class NessieRefsScreen(LakehouseScreen):
    """Branches and tags on the left, the highlighted one's commit log on the right."""

    DEFAULT_CSS = CSS
    TITLE_TEXT = "Nessie refs"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="refs.close"),
        Binding("r", "refresh", "Refresh", id="refs.refresh"),
        Binding("b", "create('branch')", "Branch", id="refs.branch"),
        Binding("t", "create('tag')", "Tag", id="refs.tag"),
        Binding("g", "merge", "Merge into", id="refs.merge"),
        Binding("x,delete", "delete", "Delete", id="refs.delete"),
    ]

    def __init__(self, ref: str | None = None) -> None:
        super().__init__(id="nessie-refs-screen")
        self.refs: list[RefInfo] = []
        self.commits: list[CommitInfo] = []
        self.log_ref: str | None = None
        self._wanted = ref

    @property
    def control(self) -> RefControl:
        assert self.backend.refs is not None, "the Catalog opens this screen in stack mode only"
        return self.backend.refs

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="refs-box"):
                yield Label("Branches and tags", classes="section-title")
                yield DataTable(id="nessie-refs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="log-box"):
                yield Label("", id="log-title", markup=False)
                yield DataTable(id="commit-log", cursor_type="row", zebra_stripes=True)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        fill(self.query_one("#nessie-refs", DataTable), REF_COLUMNS, [])
        fill(self.query_one("#commit-log", DataTable), LOG_COLUMNS, [])
        self.action_refresh()

    # ------------------------------------------------------------ loading
    def action_refresh(self) -> None:
        self._load_refs()

    @work(thread=True, exclusive=True, group="nessie-refs", exit_on_error=False)
    def _load_refs(self) -> None:
        self.post_message(NessieRefsLoaded(self.control.list_refs()))

    @on(NessieRefsLoaded)
    def show_refs(self, message: NessieRefsLoaded) -> None:
        grid = self.query_one("#nessie-refs", DataTable)
        keep = self._wanted or self.selected_ref_name()
        self.refs = message.refs
        rows = [
            (r.name, (r.name + (" (default)" if r.is_default else ""), r.kind, r.hash[:8])) for r in self.refs
        ]
        fill(grid, REF_COLUMNS, rows)
        names = [r.name for r in self.refs]
        row = names.index(keep) if keep in names else 0
        self._wanted = None
        if self.refs:
            grid.move_cursor(row=row)
            self._load_log(self.refs[row].name)
        grid.focus()

    def selected_ref_name(self) -> str | None:
        grid = self.query_one("#nessie-refs", DataTable)
        if not self.refs or grid.row_count == 0:
            return None
        return self.refs[min(grid.cursor_row, len(self.refs) - 1)].name

    @on(DataTable.RowHighlighted, "#nessie-refs")
    def ref_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value
        if name is not None and name != self.log_ref:
            self._load_log(str(name))

    @work(thread=True, exclusive=True, group="nessie-log", exit_on_error=False)
    def _load_log(self, ref: str) -> None:
        self.post_message(CommitLogLoaded(ref, self.control.commit_log(ref, limit=LOG_LIMIT)))

    @on(CommitLogLoaded)
    def show_log(self, message: CommitLogLoaded) -> None:
        if message.ref != self.selected_ref_name():
            return  # the cursor moved on while it loaded: that ref's log is on its way
        self.log_ref, self.commits = message.ref, message.commits
        more = f" (newest {LOG_LIMIT})" if len(self.commits) >= LOG_LIMIT else ""
        self.query_one("#log-title", Label).update(
            f"{message.ref}: {len(self.commits)} commits{more} · b/t here: from the highlighted commit"
        )
        grid = self.query_one("#commit-log", DataTable)
        rows = [
            (
                c.hash,
                (c.hash[:12], c.author or c.committer or "-", c.message, ", ".join(c.tables) or "-",
                 fmt.when(c.committed_at)),
            )
            for c in self.commits
        ]
        fill(grid, LOG_COLUMNS, rows)

    def selected_commit(self) -> str | None:
        grid = self.query_one("#commit-log", DataTable)
        if not grid.has_focus or not self.commits or grid.row_count == 0:
            return None
        return self.commits[min(grid.cursor_row, len(self.commits) - 1)].hash

    # ------------------------------------------------------------ create
    def action_create(self, kind: str) -> None:
        source = self.log_ref if self.selected_commit() else self.selected_ref_name()
        if source is None:
            self.notify("no ref to create from", severity="warning")
            return
        commit = self.selected_commit()
        where = f"commit {commit[:12]} of {source}" if commit else f"the head of {source}"

        def named(name: str | None) -> None:
            if name:
                self._create(name, kind, source, commit)

        self.app.push_screen(InputModal(f"New {kind} at {where}", placeholder=f"{kind} name"), named)

    @work(thread=True, group="nessie-change", exit_on_error=False)
    def _create(self, name: str, kind: str, source: str, commit: str | None) -> None:
        ref = self.control.create_ref(
            name, "tag" if kind == "tag" else "branch", from_ref=source, at_hash=commit
        )
        self.post_message(RefCreated(ref))

    @on(RefCreated)
    def ref_created(self, message: RefCreated) -> None:
        ref = message.ref
        self.notify(f"{ref.kind} {ref.name} created at {ref.hash[:12]}", title="Ref created")
        self._wanted = ref.name
        self._load_refs()

    # ------------------------------------------------------------ merge
    def action_merge(self) -> None:
        source = self.selected_ref_name()
        if source is None:
            return
        default = next((r.name for r in self.refs if r.is_default), "main")

        def target_named(target: str | None) -> None:
            if target:
                self._merge(source, target, True)

        self.app.push_screen(
            InputModal(f"Merge {source} into which branch? (a dry run comes first)", value=default),
            target_named,
        )

    @work(thread=True, exclusive=True, group="nessie-merge", exit_on_error=False)
    def _merge(self, source: str, target: str, dry_run: bool) -> None:
        self.post_message(MergePreviewed(self.control.merge(source, target, dry_run=dry_run)))

    @on(MergePreviewed)
    def merge_previewed(self, message: MergePreviewed) -> None:
        result = message.result
        if not result.dry_run:
            verb = "merged" if result.applied else "not merged"
            self.notify(
                f"{result.source} {verb} into {result.target}\n{merge_summary(result)}",
                title="Merge", severity="information" if result.successful else "error", timeout=10,
            )
            self._wanted = result.target
            self._load_refs()
            return
        if result.successful and not result.changed_keys and not result.conflicts:
            text = f"nothing to merge: {result.target} has every change of {result.source}"
            self.notify(text, title="Merge")
            return
        if not result.successful:
            self.notify(
                f"{result.source} cannot be merged into {result.target}\n{merge_summary(result)}",
                title="Merge conflicts", severity="error", timeout=15,
            )
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._merge(result.source, result.target, False)

        self.app.push_screen(
            ConfirmActionModal(
                f"Merge {result.source} into {result.target}?", merge_summary(result), "Merge"
            ),
            confirmed,
        )

    # ------------------------------------------------------------ delete
    def action_delete(self) -> None:
        name = self.selected_ref_name()
        ref = next((r for r in self.refs if r.name == name), None)
        if ref is None:
            return
        if ref.is_default:
            self.notify(f"{ref.name} is the default branch: it cannot be deleted", severity="warning")
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._delete(ref.name)

        detail = f"{ref.kind} {ref.name} at {ref.hash[:12]}; commits no other ref holds become unreachable"
        modal = ConfirmActionModal(f"Delete {ref.kind} {ref.name}?", detail, "Delete")
        self.app.push_screen(modal, confirmed)

    @work(thread=True, group="nessie-change", exit_on_error=False)
    def _delete(self, name: str) -> None:
        self.post_message(RefDeleted(self.control.delete_ref(name)))

    @on(RefDeleted)
    def ref_deleted(self, message: RefDeleted) -> None:
        self.notify(f"{message.ref.kind} {message.ref.name} deleted", title="Ref deleted")
        self.log_ref = None
        self._load_refs()

    def action_close(self) -> None:
        self.dismiss(None)
