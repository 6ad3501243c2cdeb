"""Catalog screen on the fake backend: tree, snapshots, schema, partitions, files, preview, diff, refs."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import TabbedContent, Tree

from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fakes import FakeBackend, FakeCatalog
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.modals import InputModal


def tree_lines(tree: Tree[object]) -> list[str]:
    lines: list[str] = []

    def walk(node: object, depth: int) -> None:
        for child in node.children:  # type: ignore[attr-defined]
            lines.append("  " * depth + str(child.label))
            if child.is_expanded:
                walk(child, depth + 1)

    walk(tree.root, 0)
    return lines


async def open_orders(pilot: Pilot[None]) -> CatalogScreen:
    """F2, then expand main > bronze and select bronze.orders."""
    await pilot.press("f2")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CatalogScreen)
    await pilot.press("down", "enter")  # bronze: expand
    await settle(pilot)
    await pilot.press("down", "down", "enter")  # orders: select
    await settle(pilot)
    return screen


async def test_tree_lists_refs_namespaces_and_tables(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        assert tree_lines(screen.query_one(Tree)) == [
            "branch main (default)",
            "  bronze",
            "    customers",
            "    orders",
            "    products",
            "  gold",
            "  silver",
            "per-table refs",
        ]
        assert screen.table is not None and screen.table.identifier == "bronze.orders"
        assert text_of(screen.query_one("#table-title")) == (
            "bronze.orders @ main · v2 · 5,990 rows · current snapshot 3003 · file:///data/warehouse/bronze/orders"
        )


async def test_table_detail_tabs(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        assert cells(screen.query_one("#snapshots")) == [
            ["", "", "3001", "2026-01-01 12:00:00", "append", "5,000", "0", "4", "0", "5,000"],
            ["", "", "3002", "2026-01-01 13:00:00", "overwrite", "4,990", "5,000", "4", "4", "4,990"],
            ["", "current", "3003", "2026-01-01 14:00:00", "append", "1,000", "0", "1", "0", "5,990"],
        ]
        schema = cells(screen.query_one("#schema"))
        assert len(schema) == 8 + 7  # current schema first, then schema 0
        assert schema[0] == ["1", "yes", "1", "order_id", "long", "required"]
        assert schema[8] == ["0", "", "1", "order_id", "long", "required"]
        assert text_of(screen.query_one("#partition-spec")) == (
            "partition spec: month(order_date) as order_date_month"
        )
        assert cells(screen.query_one("#partitions")) == [
            ["order_date_month=2026-01", "4,990", "4", "176.8 KiB"],
            ["order_date_month=2026-02", "1,000", "1", "37.6 KiB"],
        ]
        files = cells(screen.query_one("#files"))
        assert files[0] == [  # records and size first; the path is the full one (not under the location)
            "1,250",
            "43.9 KiB",
            "order_date_month=2026-01",
            "PARQUET",
            "file:///data/warehouse/orders/data/00000.parquet",
        ]
        assert len(files) == 4


async def test_preview_as_of_the_selected_snapshot(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        screen.query_one("#snapshots").focus()
        await pilot.press("up", "up", "p")  # cursor starts on the newest snapshot: go to 3001
        await settle(pilot)
        catalog = fake_backend.catalog
        assert isinstance(catalog, FakeCatalog)
        assert catalog.preview_calls == [("bronze.orders", 3001)]
        assert screen.query_one(TabbedContent).active == "tab-preview"
        assert (
            text_of(screen.query_one("#preview-title")) == "bronze.orders as of snapshot 3001: first 100 rows"
        )
        rows = cells(screen.query_one("#preview"))
        assert len(rows) == 100
        assert rows[0] == ["1", "2", "2", "2026-01-02", "2", "11.99", "pending", "PayPal"]


async def test_mark_two_snapshots_and_diff(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert (
            app._notifications and list(app._notifications)[-1].message == "mark two snapshots with m first"
        )
        screen.query_one("#snapshots").focus()
        await pilot.press("m", "up", "up", "m")  # 3003 then 3001
        await pilot.pause()
        assert screen.marked == [3003, 3001]
        assert [row[0] for row in cells(screen.query_one("#snapshots"))] == ["2", "", "1"]
        assert text_of(screen.query_one("#marked")) == "marked: 3003, 3001"
        await pilot.press("d")
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "tab-diff"
        assert (
            text_of(screen.query_one("#diff-summary"))
            == "bronze.orders: 3001 -> 3003: +990 added, -0 removed"
        )
        added = cells(screen.query_one("#diff-added"))
        assert len(added) == 10 and added[0][0] == "9000" and added[0][6] == "completed"
        assert cells(screen.query_one("#diff-removed")) == []


async def test_create_branch_and_tag_from_selected_snapshot(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        screen.query_one("#snapshots").focus()
        await pilot.press("up", "b")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, InputModal)
        assert text_of(modal.query_one("#input-title")) == "New branch of bronze.orders at snapshot 3002"
        await pilot.press(*"dev", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)
        assert [(n.title, n.message) for n in app._notifications] == [
            ("Ref created", "branch dev created at 3002")
        ]
        tree = screen.query_one(Tree)
        per_table = next(n for n in tree.root.children if str(n.label) == "per-table refs")
        per_table.expand()
        await settle(pilot)
        assert tree_lines(tree)[-3:] == [  # a ref of one table is shown as that table's
            "per-table refs",
            "  bronze.orders @ branch dev",
            "  bronze.orders @ tag audit",
        ]
        screen.query_one("#snapshots").focus()
        await pilot.press("t", *"dev", "enter")  # the name exists: the backend's ConflictError is shown
        await settle(pilot)
        last = list(app._notifications)[-1]
        assert (last.title, last.message, last.severity) == ("Conflict", "ref dev already exists", "error")
        await pilot.press("t", "escape")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)


async def test_refresh_reloads_tree(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_orders(pilot)
        before = fake_backend.gate.calls.count("list_refs")
        await pilot.press("r")
        await settle(pilot)
        assert fake_backend.gate.calls.count("list_refs") == before + 1
        assert fake_backend.gate.calls.count("table_detail") == 2
