"""Catalog refs on the fake backends: per-table refs, the current snapshot, a diff dropped with its
table, visible focus; Nessie refs in stack mode (create from a ref or a commit, merge, delete, log)."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, TabbedContent, Tree

from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fake_refs import C1, C2, FakeRefControl, make_fake_stack_backend
from tests.tui.fakes import FakeBackend
from tests.tui.test_catalog import open_orders, tree_lines
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.modals import ConfirmActionModal, InputModal
from tui.screens.refs import NessieRefsScreen


def messages(app: LakehouseApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_per_table_ref_opens_only_its_table(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        tree = screen.query_one(Tree)
        per_table = tree.root.children[-1]
        assert str(per_table.label) == "per-table refs"
        assert [str(n.label) for n in tree.root.children] == ["branch main (default)", "per-table refs"]
        tree.focus()
        tree.move_cursor(per_table)
        await pilot.press("enter")  # expand: the refs of single tables, each with its table
        await settle(pilot)
        assert tree_lines(tree)[-2:] == ["per-table refs", "  bronze.orders @ tag audit"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert (screen.table and screen.table.identifier, screen.ref) == ("bronze.orders", "audit")
        assert text_of(screen.query_one("#table-title")).startswith("bronze.orders @ audit · v2")
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_selecting_a_table_focuses_its_snapshots_so_m_marks_at_once(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        grid = screen.query_one("#snapshots", DataTable)
        assert app.focused is grid  # the pane with the focus has the accent border
        assert screen.query_one("#table-pane").has_focus_within
        assert [row[1] for row in cells(grid)] == ["", "", "current"]
        await pilot.press("m", "up", "m")  # the first presses mark: the newest, then 3002
        await pilot.pause()
        assert screen.marked == [3003, 3002]
        assert [row[0] for row in cells(grid)] == ["", "2", "1"]


async def test_diff_is_cleared_when_the_table_or_ref_changes(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_orders(pilot)
        await pilot.press("m", "up", "up", "m", "d")
        await settle(pilot)
        assert text_of(screen.query_one("#diff-summary")).startswith("bronze.orders: 3001 -> 3003")
        assert len(cells(screen.query_one("#diff-added"))) == 10
        tree = screen.query_one(Tree)
        tree.focus()
        await pilot.press("up", "enter")  # bronze.customers
        await settle(pilot)
        assert screen.table is not None and screen.table.identifier == "bronze.customers"
        assert text_of(screen.query_one("#diff-summary")) == "mark two snapshots (m) then diff (d)"
        assert cells(screen.query_one("#diff-added")) == [] and cells(screen.query_one("#diff-removed")) == []
        assert screen.query_one(TabbedContent).active == "tab-snapshots"


async def test_nessie_refs_are_a_stack_feature(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_orders(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CatalogScreen)
        assert messages(app)[-1].startswith("Nessie branches, merges and commit logs are stack-mode features")


# ---------------------------------------------------------------- stack mode (fake Nessie)
def stack_backend() -> tuple[FakeBackend, FakeRefControl]:
    backend = make_fake_stack_backend()
    assert isinstance(backend.refs, FakeRefControl)
    return backend, backend.refs


async def open_refs(pilot: Pilot[None]) -> NessieRefsScreen:
    await open_orders(pilot)
    await pilot.press("n")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, NessieRefsScreen)
    return screen


async def test_b_on_a_snapshot_creates_a_nessie_branch_from_the_ref(settings: LakehouseSettings) -> None:
    backend = make_fake_stack_backend()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_orders(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, InputModal)
        assert text_of(app.screen.query_one("#input-title")).startswith("New branch at the head of main")
        await pilot.press(*"etl-2", "enter")
        await settle(pilot)
        refs = backend.refs
        assert isinstance(refs, FakeRefControl)
        assert refs.created == [("etl-2", "branch", "main", None)]
        assert "create_ref" not in backend.gate.calls  # not the per-table path with a snapshot
        assert messages(app)[-1] == f"branch etl-2 created at {C1.hash}"


async def test_log_create_from_ref_and_commit(settings: LakehouseSettings) -> None:
    backend, refs = stack_backend()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_refs(pilot)
        assert [row[:2] for row in cells(screen.query_one("#nessie-refs"))] == [
            ["main (default)", "branch"], ["dev", "branch"], ["hotfix", "branch"]]
        await pilot.press("down")  # dev
        await settle(pilot)
        assert text_of(screen.query_one("#log-title")).startswith("dev: 2 commits")
        assert cells(screen.query_one("#commit-log")) == [
            [C2.hash[:12], "alice", "fix orders", "bronze.orders", "2026-01-01 13:00:00"],
            [C1.hash[:12], "etl-bot", "promote run r1", "bronze.orders, gold.daily_sales",
             "2026-01-01 12:00:00"],
        ]
        await pilot.press("b", *"from-dev", "enter")  # the ref's head
        await settle(pilot)
        assert screen.selected_ref_name() == "from-dev" and screen.log_ref == "from-dev"
        screen.query_one("#commit-log").focus()
        await pilot.press("down", "t")  # the highlighted commit of the new branch's log
        await settle(pilot)
        assert isinstance(app.screen, InputModal)
        title = text_of(app.screen.query_one("#input-title"))
        assert title == f"New tag at commit {C1.hash[:12]} of from-dev"
        await pilot.press(*"v1", "enter")
        await settle(pilot)
        assert refs.created == [("from-dev", "branch", "dev", None), ("v1", "tag", "from-dev", C1.hash)]
        assert refs.logs["v1"] == [C1] and refs.logs["from-dev"] == [C2, C1]
        names = [row[0] for row in cells(screen.query_one("#nessie-refs"))]
        assert "from-dev" in names and "v1" in names


async def test_merge_dry_run_then_confirm_and_conflicts(settings: LakehouseSettings) -> None:
    backend, refs = stack_backend()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_refs(pilot)
        await pilot.press("down", "g")  # dev into ...
        await settle(pilot)
        assert isinstance(app.screen, InputModal)
        await pilot.press("enter")  # the default branch, prefilled
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal)
        assert refs.merges == [("dev", "main", True)]
        assert modal.question == "Merge dev into main?"
        assert modal.detail.splitlines() == ["1 tables changed, 0 conflicts", "  changed  bronze.orders"]
        await pilot.press("y")
        await settle(pilot)
        assert refs.merges[-1] == ("dev", "main", False)
        assert refs.logs["main"][0].message == "merge dev into main"
        assert messages(app)[-1].startswith("dev merged into main")
        assert screen.log_ref == "main"  # the target's log, with the merge commit on top
        assert cells(screen.query_one("#commit-log"))[0][2] == "merge dev into main"
        screen.query_one("#nessie-refs").focus()
        await pilot.press("down", "down", "g", "enter")  # hotfix into main: a conflict
        await settle(pilot)
        assert isinstance(app.screen, NessieRefsScreen)  # nothing to confirm
        assert refs.merges[-1] == ("hotfix", "main", True)
        last = list(app._notifications)[-1]
        assert (last.title, last.severity) == ("Merge conflicts", "error")
        assert "CONFLICT gold.daily_sales: VALUE_DIFFERS" in last.message


async def test_delete_asks_first(settings: LakehouseSettings) -> None:
    backend, refs = stack_backend()
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_refs(pilot)
        await pilot.press("x")  # main: the default branch stays
        await pilot.pause()
        assert isinstance(app.screen, NessieRefsScreen)
        assert "default branch" in messages(app)[-1]
        await pilot.press("down", "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmActionModal)
        await pilot.press("escape")  # no: dev stays
        await settle(pilot)
        assert "dev" in refs.logs
        await pilot.press("x", "y")
        await settle(pilot)
        assert "dev" not in refs.logs
        assert [row[0] for row in cells(screen.query_one("#nessie-refs"))] == ["main (default)", "hotfix"]
        assert messages(app)[-1] == "branch dev deleted"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CatalogScreen)

