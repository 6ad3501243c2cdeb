"""Catalog: refs -> namespaces -> tables, then snapshots, schemas, partitions, files, preview, diff."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from lakehouse_core.models import RefInfo, SnapshotInfo, TableRef
from lakehouse_core.report import NO_TABLES_ELSEWHERE
from tui.messages import (
    CatalogChildrenLoaded,
    DiffLoaded,
    PreviewLoaded,
    TableLoaded,
)
from tui.screens.catalog_refs import CatalogNode, CatalogRefActions
from tui.widgets import fmt
from tui.widgets.footer import LakehouseFooter
from tui.widgets.results_table import ResultsTable

PREVIEW_ROWS = 100


def _table_refs(refs: list[RefInfo]) -> list[RefInfo]:
    """The Iceberg refs of single tables, except each table's ``main`` (its current state)."""
    own = [r for r in refs if r.table is not None and not (r.kind == "branch" and r.name == "main")]
    return sorted(own, key=lambda r: (r.table or "", r.kind, r.name))


class CatalogScreen(CatalogRefActions):
    """Browse the catalog and time-travel through snapshots."""

    CSS_PATH = str(Path(__file__).with_name("catalog.tcss"))  # parsed on first show, after the first frame
    TITLE_TEXT = "Catalog"
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="catalog.refresh"),
        Binding("p", "preview", "Preview as of", id="catalog.preview"),
        Binding("m", "mark", "Mark for diff", id="catalog.mark"),
        Binding("d", "diff", "Diff marked", id="catalog.diff"),
        Binding("b", "create_ref('branch')", "Branch", id="catalog.branch"),
        Binding("t", "create_ref('tag')", "Tag", id="catalog.tag"),
        Binding("n", "nessie", "Nessie refs", id="catalog.nessie"),
        Binding("M", "maintain", "Maintain tables", id="catalog.maintain", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="catalog")
        self.table: TableRef | None = None
        self.ref: str | None = None
        self.snapshots: list[SnapshotInfo] = []
        self.marked: list[int] = []
        self.current_snapshot: int | None = None
        self._focus_snapshots = False
        self._tree_generation = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="catalog-body"):
            tree: Tree[CatalogNode | None] = Tree("catalog", id="catalog-tree")
            tree.show_root = False
            yield tree
            with Vertical(id="table-pane"):
                yield Label("select a table in the tree (enter)", id="table-title")
                with TabbedContent(id="table-tabs"):
                    with TabPane("Snapshots", id="tab-snapshots"):
                        yield DataTable(id="snapshots", cursor_type="row", zebra_stripes=True)
                        yield Label("", id="marked")
                    with TabPane("Schema", id="tab-schema"):
                        yield DataTable(id="schema", cursor_type="row", zebra_stripes=True)
                    with TabPane("Partitions", id="tab-partitions"):
                        yield Label("", id="partition-spec")
                        yield DataTable(id="partitions", cursor_type="row", zebra_stripes=True)
                    with TabPane("Files", id="tab-files"):
                        yield DataTable(id="files", cursor_type="row", zebra_stripes=True)
                    with TabPane("Preview", id="tab-preview"):
                        yield Label("", id="preview-title")
                        yield ResultsTable(id="preview")
                    with TabPane("Diff", id="tab-diff"):
                        yield Label("mark two snapshots (m) then diff (d)", id="diff-summary")
                        yield Label("added sample", classes="section-title")
                        yield DataTable(id="diff-added", zebra_stripes=True)
                        yield Label("removed sample", classes="section-title")
                        yield DataTable(id="diff-removed", zebra_stripes=True)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self._table("snapshots").add_columns(
            "Mark",
            "Current",
            "Snapshot id",
            "Committed at",
            "Operation",
            "+rows",
            "-rows",
            "+files",
            "-files",
            "Total rows",
        )
        self._table("schema").add_columns("Schema", "Current", "Field id", "Name", "Type", "Required")
        self._table("partitions").add_columns("Partition", "Records", "Files", "Size")
        self._table("files").add_columns("Records", "Size", "Partition", "Format", "Path")
        self.call_after_refresh(self.action_refresh)

    def _table(self, name: str) -> DataTable[str | Text]:
        return self.query_one(f"#{name}", DataTable)

    def open_table(self, table: TableRef, ref: str | None = None) -> None:
        """Show ``table`` (snapshots first) once the screen has painted; other screens call this."""
        self._select(table, ref)
        self.call_after_refresh(self.load_table, table, ref)

    def _select(self, table: TableRef, ref: str | None) -> None:
        """Make ``table`` at ``ref`` the shown table: marks and a diff of another table are dropped."""
        if (table, ref) != (self.table, self.ref):
            self._clear_diff()
        self.table, self.ref = table, ref
        self.marked = []
        self.current_snapshot = None

    def _clear_diff(self) -> None:
        self.query_one("#diff-summary", Label).update("mark two snapshots (m) then diff (d)")
        for name in ("diff-added", "diff-removed"):
            self._table(name).clear(columns=True)

    # ------------------------------------------------------------------ tree
    def action_refresh(self) -> None:
        self._reload_tree()
        if self.table is not None:
            self.load_table(self.table, self.ref)

    def _reload_tree(self) -> None:
        tree: Tree[CatalogNode | None] = self.query_one(Tree)
        tree.root.remove_children()
        self._tree_generation += 1
        self.load_children(tree.root, self._tree_generation, None)

    @work(thread=True, group="catalog-tree", exit_on_error=False)
    def load_children(
        self, node: TreeNode[CatalogNode | None], generation: int, data: CatalogNode | None
    ) -> None:
        catalog = self.backend.catalog
        children: list[tuple[str, object, bool]] = []
        if data is None:
            refs = catalog.list_refs()
            for ref in sorted(refs, key=lambda r: (not r.is_default, r.kind, r.name)):
                if ref.table is not None:  # an Iceberg ref of one table: under "per-table refs"
                    continue
                label = f"{ref.kind} {ref.name}" + (" (default)" if ref.is_default else "")
                children.append((label, CatalogNode("ref", ref.name), True))
            if not children:
                children.append(("current", CatalogNode("ref", None), True))
            if _table_refs(refs):
                children.append(("per-table refs", CatalogNode("table-refs", None), True))
        elif data.kind == "table-refs":
            for ref in _table_refs(catalog.list_refs()):
                table = TableRef.parse(ref.table or "")
                label = f"{ref.table} @ {ref.kind} {ref.name}"
                children.append((label, CatalogNode("table", ref.name, table.namespace, table), False))
        elif data.kind == "ref":
            for namespace in catalog.list_namespaces(ref=data.ref):
                children.append((".".join(namespace), CatalogNode("namespace", data.ref, namespace), True))
        elif data.kind == "namespace":
            for table in catalog.list_tables(data.namespace, ref=data.ref):
                children.append((table.name, CatalogNode("table", data.ref, data.namespace, table), False))
        self.post_message(CatalogChildrenLoaded(node, generation, children))

    @on(CatalogChildrenLoaded)
    def show_children(self, message: CatalogChildrenLoaded) -> None:
        if message.generation != self._tree_generation:
            return  # the tree was reloaded meanwhile
        tree: Tree[CatalogNode | None] = self.query_one(Tree)
        node: TreeNode[CatalogNode | None] = message.node
        node.remove_children()
        if not message.children and node.data is not None and node.data.kind == "ref":
            node.add_leaf("no tables yet", None)  # an empty data dir: the title says what to do
            self.query_one("#table-title", Label).update(NO_TABLES_ELSEWHERE)
        for label, data, expandable in message.children:
            if expandable:
                node.add(label, data)  # type: ignore[arg-type]
            else:
                node.add_leaf(label, data)  # type: ignore[arg-type]
        if node.is_root:
            node.expand()
            if node.children:
                node.children[0].expand()
                tree.move_cursor(node.children[0])
        if node.is_root and self.focused is None:  # a reload leaves the focus where it is
            tree.focus()

    @on(Tree.NodeExpanded)
    def node_expanded(self, event: Tree.NodeExpanded[CatalogNode | None]) -> None:
        data = event.node.data
        if data is not None and data.kind in ("ref", "namespace", "table-refs") and not event.node.children:
            self.load_children(event.node, self._tree_generation, data)

    @on(Tree.NodeSelected)
    def node_selected(self, event: Tree.NodeSelected[CatalogNode | None]) -> None:
        data = event.node.data
        if data is not None and data.kind == "table" and data.table is not None:
            self._select(data.table, data.ref)
            self._focus_snapshots = True  # the grid m, d, p, b and t act on: focused, its cursor shows
            self.load_table(data.table, data.ref)

    # ------------------------------------------------------------------ table detail
    @work(thread=True, exclusive=True, group="catalog-table", exit_on_error=False)
    def load_table(self, table: TableRef, ref: str | None) -> None:
        catalog = self.backend.catalog
        self.post_message(
            TableLoaded(
                table,
                ref,
                catalog.table_detail(table, ref=ref),
                catalog.snapshots(table, ref=ref),
                catalog.schema_history(table, ref=ref),
                catalog.partition_stats(table, ref=ref),
                catalog.files(table, ref=ref),
            )
        )

    @on(TableLoaded)
    def show_table(self, message: TableLoaded) -> None:
        detail = message.detail
        self.snapshots = message.snapshots
        self.current_snapshot = detail.current_snapshot_id
        current = detail.current_snapshot_id if detail.current_snapshot_id is not None else "-"
        at_ref = f" @ {message.ref}" if message.ref else ""
        self.query_one("#table-title", Label).update(
            f"{detail.table.identifier}{at_ref} · v{detail.format_version} · {detail.row_count:,} rows"
            f" · current snapshot {current} · {detail.location}"
        )
        self._show_snapshots(keep_cursor=False)
        schema = self._table("schema")
        schema.clear()
        for version in reversed(message.schemas):
            for f in version.fields:
                current = "yes" if version.is_current else ""
                required = "required" if f.required else "optional"
                schema.add_row(str(version.schema_id), current, str(f.field_id), f.name, f.type, required)
        spec = ", ".join(f"{p.transform}({p.source}) as {p.name}" for p in detail.partition_spec)
        self.query_one("#partition-spec", Label).update(f"partition spec: {spec or 'unpartitioned'}")
        partitions = self._table("partitions")
        partitions.clear()
        for stat in message.partitions:
            partitions.add_row(
                stat.partition or "(none)",
                fmt.count(stat.record_count),
                str(stat.file_count),
                fmt.size(stat.size_bytes),
            )
        files = self._table("files")
        files.clear()
        location = detail.location.rstrip("/") + "/"
        for data_file in message.files:  # records and size first: a full path is wider than the pane
            path = data_file.path
            files.add_row(
                fmt.count(data_file.record_count),
                fmt.size(data_file.size_bytes),
                data_file.partition or "-",
                data_file.file_format,
                path[len(location):] if path.startswith(location) else path,
            )
        if self._focus_snapshots:
            self._focus_snapshots = False
            self.query_one(TabbedContent).active = "tab-snapshots"
            self._table("snapshots").focus()

    def _show_snapshots(self, keep_cursor: bool = True) -> None:
        """Fill the snapshot grid; the cursor starts on the newest snapshot."""
        table = self._table("snapshots")
        cursor = table.cursor_row if keep_cursor else len(self.snapshots) - 1
        table.clear()
        for snap in self.snapshots:
            mark = str(self.marked.index(snap.snapshot_id) + 1) if snap.snapshot_id in self.marked else ""
            table.add_row(
                mark,
                "current" if snap.snapshot_id == self.current_snapshot else "",
                str(snap.snapshot_id),
                fmt.when(snap.committed_at),
                snap.operation,
                fmt.count(snap.added_rows),
                fmt.count(snap.deleted_rows),
                str(snap.added_files),
                str(snap.deleted_files),
                fmt.count(snap.total_rows),
                key=str(snap.snapshot_id),
            )
        if self.snapshots:
            table.move_cursor(row=max(0, min(cursor, len(self.snapshots) - 1)))
        marked = ", ".join(str(s) for s in self.marked)
        self.query_one("#marked", Label).update(
            f"marked: {marked}" if marked else "m marks up to two snapshots"
        )

    def selected_snapshot(self) -> int | None:
        table = self._table("snapshots")
        if not self.snapshots or table.row_count == 0:
            return None
        return self.snapshots[min(table.cursor_row, len(self.snapshots) - 1)].snapshot_id

    def _need_snapshot(self) -> int | None:
        snapshot = self.selected_snapshot()
        if self.table is None or snapshot is None:
            self.notify("select a table with snapshots first", severity="warning")
            return None
        return snapshot

    # ------------------------------------------------------------------ actions
    def action_preview(self) -> None:
        if self.table is None:
            self.notify("select a table first", severity="warning")
            return
        self.load_preview(self.table, self.selected_snapshot(), self.ref)

    @on(DataTable.RowSelected, "#snapshots")
    def snapshot_chosen(self) -> None:
        self.action_preview()

    @work(thread=True, exclusive=True, group="catalog-preview", exit_on_error=False)
    def load_preview(self, table: TableRef, snapshot_id: int | None, ref: str | None) -> None:
        result = self.backend.catalog.preview(table, snapshot_id=snapshot_id, limit=PREVIEW_ROWS, ref=ref)
        self.post_message(PreviewLoaded(table, snapshot_id, result))

    @on(PreviewLoaded)
    def show_preview(self, message: PreviewLoaded) -> None:
        as_of = f"snapshot {message.snapshot_id}" if message.snapshot_id is not None else "current"
        self.query_one("#preview-title", Label).update(
            f"{message.table.identifier} as of {as_of}: first {message.result.row_count:,} rows"
        )
        self.query_one("#preview", ResultsTable).show_result(message.result, PREVIEW_ROWS)
        self.query_one(TabbedContent).active = "tab-preview"

    def action_mark(self) -> None:
        snapshot = self._need_snapshot()
        if snapshot is None:
            return
        if snapshot in self.marked:
            self.marked.remove(snapshot)
        else:
            self.marked = [*self.marked, snapshot][-2:]
        self._show_snapshots()
        self.query_one(TabbedContent).active = "tab-snapshots"
        self._table("snapshots").focus()  # the highlighted row is the one m marks

    def action_diff(self) -> None:
        if self.table is None or len(self.marked) != 2:
            self.notify("mark two snapshots with m first", severity="warning")
            return
        order = [s.snapshot_id for s in self.snapshots]
        first, second = sorted(self.marked, key=lambda s: order.index(s) if s in order else 0)
        self.load_diff(self.table, first, second)

    @work(thread=True, exclusive=True, group="catalog-diff", exit_on_error=False)
    def load_diff(self, table: TableRef, first: int, second: int) -> None:
        self.post_message(DiffLoaded(self.backend.catalog.diff_snapshots(table, first, second)))

    @on(DiffLoaded)
    def show_diff(self, message: DiffLoaded) -> None:
        diff = message.diff
        self.query_one("#diff-summary", Label).update(
            f"{diff.table}: {diff.from_snapshot} -> {diff.to_snapshot}: "
            f"+{diff.added_count:,} added, -{diff.removed_count:,} removed"
        )
        for name, rows in (("diff-added", diff.added_sample), ("diff-removed", diff.removed_sample)):
            grid = self._table(name)
            grid.clear(columns=True)
            grid.add_columns(*diff.columns)
            grid.add_rows([fmt.cell(v) for v in row] for row in rows)
        self.query_one(TabbedContent).active = "tab-diff"
