"""The SQL screen's schema browser, completion, select-all and run key, on the fake backend and on the
real embedded backend."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Tree

from lakehouse_core.backends import load_backend
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings, TuiSettings
from tests.conftest import embedded_settings
from tests.tui.conftest import SIZE, cells, settle, wait_until
from tests.tui.fakes import FakeBackend
from tests.tui.test_embedded import real  # noqa: F401 - the embedded lakehouse fixture (phases 1-2)
from tui.app import LakehouseApp
from tui.screens.sql import SqlScreen
from tui.widgets.completion_list import CompletionList
from tui.widgets.footer import LakehouseFooter
from tui.widgets.results_table import ResultsTable
from tui.widgets.schema_tree import SchemaTree


async def open_sql(pilot: Pilot[None], text: str = "") -> SqlScreen:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SqlScreen)
    screen.editor.text = text
    screen.editor.move_cursor(screen.editor.document.end)
    return screen


def tree_lines(tree: Tree[str]) -> list[str]:
    """Every visible node of the tree, indented by depth, as plain text."""
    lines = []
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        assert node is not None
        depth, parent = 0, node.parent
        while parent is not None and parent is not tree.root:
            depth, parent = depth + 1, parent.parent
        lines.append("  " * depth + str(node.label))
    return lines


def proposals(screen: SqlScreen) -> list[str]:
    popup = screen.query_one(CompletionList)
    return [f"{p.label} {p.kind}" for p in popup.proposals] if popup.display else []


async def test_schema_browser_lists_namespaces_tables_and_typed_columns_and_inserts_names(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT  FROM ")
        tree = screen.query_one(SchemaTree)
        assert tree_lines(tree) == [
            "bronze",
            "  customers",
            "  orders",
            "  products",
            "gold",
            "  daily_sales",
            "  regional_sales",
            "silver",
            "  orders_enriched",
        ]
        await pilot.press("ctrl+s")
        assert tree.has_focus
        await pilot.press("down", "down", "enter")  # bronze.orders: inserted at the cursor
        await pilot.pause()
        assert screen.editor.text == "SELECT  FROM bronze.orders"
        screen.editor.move_cursor((0, 7))
        await pilot.press("space", "down", "down", "enter")  # open orders, its second column
        await pilot.pause()
        assert tree_lines(tree)[2:5] == ["  orders", "    order_id long", "    customer_id long"]
        assert screen.editor.text == "SELECT customer_id FROM bronze.orders"
        assert screen.editor.cursor_location == (0, 18)  # after the inserted name
        assert fake_backend.gate.calls.count("list_namespaces") == 2  # the Overview asks once too


async def test_completion_of_keywords_tables_columns_and_aliases(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot)
        await wait_until(pilot, lambda: screen.vocabulary is not None)
        await pilot.press(*"sel")
        await pilot.pause()
        assert proposals(screen)[:1] == ["SELECT keyword"]  # DuckDB's keyword list
        await pilot.press("tab", *" * FROM orde")
        await pilot.pause()
        assert proposals(screen)[:2] == ["bronze.orders table", "silver.orders_enriched table"]
        await pilot.press("enter", *" o WHERE o.to")
        await pilot.pause()
        assert proposals(screen) == ["total_amount decimal(12, 2)"]  # the alias's columns, with types
        await pilot.press("tab")
        await pilot.pause()
        assert screen.editor.text == "SELECT * FROM bronze.orders o WHERE o.total_amount"
        assert not screen.query_one(CompletionList).display
        await pilot.press(*" AND bronze.")
        await pilot.pause()
        assert proposals(screen) == ["customers table", "orders table", "products table"]
        await pilot.press("down", "escape")  # escape closes the list and leaves the text
        await pilot.pause()
        assert not screen.query_one(CompletionList).display
        assert screen.editor.text.endswith("AND bronze.")
        await pilot.press("enter")  # closed: enter is a new line again
        await pilot.press("ctrl+space")  # asks for every proposal, no word typed
        await pilot.pause()
        assert proposals(screen)[:2] == ["order_id long", "customer_id long"]  # the statement's table first
        await pilot.press("escape", "ctrl+r")
        await settle(pilot)
        assert fake_backend.gate.calls.count("list_namespaces") == 2  # once here, once by the Overview


async def test_catalog_lookups_never_block_the_editor(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    fake_backend.gate.hang["list_namespaces"] = threading.Event()
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        assert fake_backend.gate.entered.setdefault("list_namespaces", threading.Event()).wait(5)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        screen.editor.text = ""
        assert tree_lines(screen.query_one(SchemaTree)) == ["loading the catalog…"]
        await pilot.press(*"SELECT * FROM range(3)")  # typed and run while the catalog is being read
        await pilot.press("ctrl+r")
        assert await wait_until(pilot, lambda: screen.query_one(ResultsTable).row_count == 3)
        assert screen.editor.text == "SELECT * FROM range(3)"
        fake_backend.gate.release()
        assert await wait_until(pilot, lambda: screen.schema is not None)
        assert tree_lines(screen.query_one(SchemaTree))[0] == "bronze"


async def test_unreadable_catalog_and_empty_catalog_are_said_in_the_browser(
    fake_backend: FakeBackend, settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse_core.errors import ServiceUnavailableError

    fake_backend.gate.fail["list_namespaces"] = ServiceUnavailableError("nessie", "connection refused")
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot)
        assert tree_lines(screen.query_one(SchemaTree)) == [
            "catalog not readable: nessie is unavailable: connection refused"
        ]
        del fake_backend.gate.fail["list_namespaces"]
        monkeypatch.setattr(type(fake_backend.catalog), "list_namespaces", lambda self, ref=None: [])
        await pilot.press("f1", "f3")  # shown again: read again
        await settle(pilot)
        assert tree_lines(screen.query_one(SchemaTree)) == ["no tables yet: press F1, then 1 and 2"]


async def test_footer_shows_a_run_key_that_arrives_everywhere_and_select_all(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sql(pilot, "SELECT 1;\nSELECT 2")
        footer = screen.query_one(LakehouseFooter)
        keys = footer.query("FooterKey")
        shown = [(key.key_display, key.description) for key in keys]  # type: ignore[attr-defined]
        assert shown[:5] == [
            ("^r", "Run"),
            ("^g", "Cancel"),
            ("^s", "Schema"),
            ("^o", "History"),
            ("f7", "Select all"),
        ]
        await pilot.press("f7")
        assert screen.editor.selected_text == "SELECT 1;\nSELECT 2"
        await pilot.press("ctrl+s", "f7")  # from elsewhere too: back to the editor, all selected
        assert screen.editor.has_focus and screen.editor.selected_text == "SELECT 1;\nSELECT 2"


# ------------------------------------------------------------------ real embedded backend (``real``)
@pytest.mark.slow
async def test_schema_browser_and_completion_on_embedded(
    real: tuple[Backend, LakehouseSettings],  # noqa: F811 - the fixture imported above
) -> None:
    backend, settings = real
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot, "SELECT ")
        loaded = lambda: screen.schema is not None and screen.vocabulary is not None  # noqa: E731
        assert await wait_until(pilot, loaded, 30)
        lines = tree_lines(screen.query_one(SchemaTree))
        assert lines[:4] == ["bronze", "  customers", "  orders", "  products"]
        assert "gold" in lines and "  regional_sales" in lines and "silver" in lines
        detail = backend.catalog.table_detail(screen.schema.tables[1].table)  # type: ignore[union-attr]
        assert [(c.name, c.type) for c in screen.schema.tables[1].columns][:2] == [  # type: ignore[union-attr]
            (f.name, f.type) for f in detail.fields[:2]
        ]
        await pilot.press(*"count(*) AS n FROM gold.regional_sa", "tab")
        await pilot.pause()
        assert screen.editor.text == "SELECT count(*) AS n FROM gold.regional_sales"
        await pilot.press("ctrl+r")
        assert await wait_until(pilot, lambda: screen.query_one(ResultsTable).row_count == 1, 60)
        expected = backend.sql.execute("SELECT count(*) AS n FROM gold.regional_sales").tuples()
        assert cells(screen.query_one(ResultsTable)) == [[str(expected[0][0])]]


@pytest.mark.slow
async def test_empty_data_dir_browser_says_what_to_do(tmp_path: Path) -> None:
    tui = TuiSettings(refresh_seconds=0, metrics_refresh_seconds=0)
    settings = embedded_settings(tmp_path / "empty", tui=tui)
    app = LakehouseApp(load_backend(settings), settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sql(pilot)
        assert await wait_until(pilot, lambda: screen.schema is not None, 30)
        assert tree_lines(screen.query_one(SchemaTree)) == ["no tables yet: press F1, then 1 and 2"]


# ------------------------------------------------------------------ pure parts
def test_complete_orders_proposals_by_place_and_resolves_aliases() -> None:
    from lakehouse_core.models import FieldInfo, TableRef
    from lakehouse_core.sqlparse import Vocabulary
    from tui.sqlcomplete import Schema, SchemaTable, complete, word_before

    orders = SchemaTable(TableRef(("bronze",), "orders"), (FieldInfo(1, "order_id", "long"),))
    sales = SchemaTable(TableRef(("gold",), "daily_sales"), (FieldInfo(1, "date", "date"),))
    schema = Schema((("bronze",), ("gold",)), (orders, sales))
    words = Vocabulary(("order", "select"), ("ord",))

    def labels(word: str, statement: str, before: str = "") -> list[str]:
        return [c.text for c in complete(word, statement, schema, words, before)]

    assert labels("ord", "SELECT ord") == ["ord", "order_id", "bronze.orders", "ORDER"]  # exact first
    after_from = labels("ord", "SELECT * FROM ord", "SELECT * FROM ")
    assert after_from == ["ord", "bronze.orders", "order_id", "ORDER"]  # tables before columns
    assert labels("da", "SELECT da FROM gold.daily_sales") == ["date", "gold.daily_sales"]
    assert labels("s.", "SELECT s. FROM gold.daily_sales AS s") == ["s.date"]
    assert labels("x.", "SELECT x. FROM gold.daily_sales WHERE x") == []
    assert labels("gold.", "SELECT * FROM gold.") == ["gold.daily_sales"]
    assert labels("daily_sales.", "SELECT daily_sales.") == ["daily_sales.date"]  # a unique bare name
    assert word_before("SELECT o.ord_", 13) == "o.ord_" and word_before("a + ", 4) == ""


def test_duckdb_vocabulary_and_as_of_text_round_trip() -> None:
    from datetime import UTC, datetime

    from lakehouse_core.models import AsOf
    from lakehouse_core.sqlparse import vocabulary
    from tui.sqltext import as_of_text, parse_as_of

    words = vocabulary()
    assert {"select", "from", "qualify"} <= set(words.keywords)
    assert {"sum", "date_trunc", "read_parquet"} <= set(words.functions)
    moment = AsOf(timestamp=datetime(2026, 1, 1, tzinfo=UTC))
    for as_of in (None, AsOf(ref="audit"), AsOf(snapshot_id=3001), moment):
        assert parse_as_of(as_of_text(as_of)) == as_of
