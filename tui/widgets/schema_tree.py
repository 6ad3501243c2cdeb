"""The schema browser of the SQL screen: namespaces → tables → columns with their types.

Each node's data is the name it stands for in SQL (``gold``, ``gold.daily_sales``, ``order_id``);
enter posts Tree.NodeSelected with it (the screen inserts it into the editor), space opens or closes.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree

from tui.sqlcomplete import Schema


class SchemaTree(Tree[str]):
    """Namespaces and their tables open, columns under each table (closed)."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("schema", id=id)
        self.show_root = False
        self.auto_expand = False  # enter inserts the name; space opens a node
        self.guide_depth = 2
        self.schema: Schema | None = None

    def show_message(self, text: str) -> None:
        """Replace the tree with one line (loading, empty catalog, error)."""
        self.schema = None
        self.clear()
        self.root.add_leaf(Text(text, style="italic"), data=None)

    def show_schema(self, schema: Schema) -> None:
        """Show ``schema``; nodes that were open stay open. Unchanged schemas are left as they are."""
        if schema == self.schema:
            return
        opened = {node.data for node in self._tree_nodes.values() if node.is_expanded and node.data}
        self.schema = schema
        self.clear()
        if not schema.tables:
            self.root.add_leaf(Text("no tables yet: press F1, then 1 and 2", style="italic"), data=None)
            return
        for namespace in schema.namespaces:
            name = ".".join(namespace)
            ns_node = self.root.add(Text(name, style="bold"), data=name, expand=True)
            for table in schema.tables_in(namespace):
                label = Text(table.table.name)
                if table.error:
                    label.append(" (schema not readable)", style="dim")
                node = ns_node.add(label, data=table.table.identifier)
                for column in table.columns:
                    node.add_leaf(Text.assemble(column.name, " ", (column.type, "dim")), data=column.name)
                if table.table.identifier in opened:
                    node.expand()
