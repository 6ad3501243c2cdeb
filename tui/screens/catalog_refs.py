"""The catalog screen's ref actions: create a branch or tag (Nessie-wide in stack mode, of one table at a
snapshot in embedded mode) and open the Nessie refs screen. ``CatalogScreen`` builds on this class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.widgets import Tree

from lakehouse_core.models import Namespace, TableRef
from tui.messages import RefCreated
from tui.screens.catalog_maintain import MaintainingScreen
from tui.screens.modals import InputModal


@dataclass(frozen=True)
class CatalogNode:
    """What a tree node stands for."""

    kind: str  # ref | namespace | table | table-refs (the per-table Iceberg refs)
    ref: str | None
    namespace: Namespace = ()
    table: TableRef | None = None


class CatalogRefActions(MaintainingScreen):
    """Branch/tag creation and the Nessie refs screen; the tree and the table detail are CatalogScreen's."""

    table: TableRef | None
    ref: str | None

    if TYPE_CHECKING:

        def _need_snapshot(self) -> int | None: ...

        def _reload_tree(self) -> None: ...

    def _chosen_ref(self) -> str | None:
        """The ref the tree's cursor is on while the tree has focus, else the shown table's."""
        tree: Tree[CatalogNode | None] = self.query_one(Tree)
        node = tree.cursor_node
        if tree.has_focus and node is not None and node.data is not None:
            return node.data.ref
        return self.ref

    def action_create_ref(self, kind: str) -> None:
        if self.backend.refs is not None:  # Nessie: branches and tags span every table
            source = self._chosen_ref()

            def named_from_ref(name: str | None) -> None:
                if name:
                    self.create_nessie_ref(name, kind, source)

            where = source or "the default branch"
            self.app.push_screen(
                InputModal(
                    f"New {kind} at the head of {where} (from a commit: n, then b/t on its log)",
                    placeholder=f"{kind} name",
                ),
                named_from_ref,
            )
            return
        snapshot = self._need_snapshot()
        table = self.table
        if snapshot is None or table is None:
            return

        def named(name: str | None) -> None:
            if name:
                self.create_ref(name, kind, table, snapshot)

        self.app.push_screen(
            InputModal(
                f"New {kind} of {table.identifier} at snapshot {snapshot}", placeholder=f"{kind} name"
            ),
            named,
        )

    @work(thread=True, group="catalog-ref", exit_on_error=False)
    def create_ref(self, name: str, kind: str, table: TableRef, snapshot: int) -> None:
        ref = self.backend.catalog.create_ref(
            name, "tag" if kind == "tag" else "branch", table=table, snapshot_id=snapshot
        )
        self.post_message(RefCreated(ref))

    @work(thread=True, group="catalog-ref", exit_on_error=False)
    def create_nessie_ref(self, name: str, kind: str, source: str | None) -> None:
        assert self.backend.refs is not None
        ref = self.backend.refs.create_ref(name, "tag" if kind == "tag" else "branch", from_ref=source)
        self.post_message(RefCreated(ref))

    def action_nessie(self) -> None:
        """Nessie's branches and tags with their commit logs: create, merge, delete (stack mode)."""
        if self.backend.refs is None:
            self.notify(
                "Nessie branches, merges and commit logs are stack-mode features; "
                f"{self.backend.mode} tables have per-table Iceberg refs (b/t on a snapshot)",
                severity="warning",
            )
            return
        from tui.screens.refs import NessieRefsScreen

        self.app.push_screen(NessieRefsScreen(self._chosen_ref()), lambda _: self._reload_tree())

    @on(RefCreated)
    def ref_created(self, message: RefCreated) -> None:
        ref = message.ref
        self.notify(f"{ref.kind} {ref.name} created at {ref.hash or 'head'}", title="Ref created")
        self._reload_tree()
