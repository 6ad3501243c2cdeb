"""Nessie refs on the real Nessie: the TUI (Catalog ``b``/``t``, the refs screen ``n``) and
``lakehouse branch|tag|merge|log`` create from a ref and from a commit, merge after a dry run, delete,
and show the log with author, message and tables. Every ref here has a unique name and is deleted."""

from __future__ import annotations

import contextlib
import getpass
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from lakehouse_core.backends.stack import build_stack
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.cli import main
from lakehouse_core.errors import NotFoundError
from lakehouse_core.iceberg.promote import append_table, promote_all
from lakehouse_core.models import TableRef
from tests.core.iceberg_fixtures import build_fixture, orders, write_orders
from tests.stack.conftest import StackEndpoints, make_stack_settings
from tests.tui.conftest import cells, settle, text_of
from tui.app import LakehouseApp
from tui.screens.catalog import CatalogScreen
from tui.screens.modals import ConfirmActionModal, InputModal
from tui.screens.refs import NessieRefsScreen

ORDERS = TableRef(("bronze",), "orders")
SIZE = (160, 48)


@pytest.fixture(scope="module")
def nessie(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fresh branch ``base`` holding the fixture tables, and ``feature`` = base + one append."""
    root = tmp_path_factory.mktemp("nessie-refs")
    prefix = f"test-refs-{uuid.uuid4().hex[:8]}"
    base, feature = f"{prefix}-base", f"{prefix}-feature"
    settings = make_stack_settings(stack, root / "data", nessie={"url": stack.nessie_url, "ref": base})
    client = NessieClient(settings)
    client.create_branch(base, "main", at_hash=client.config()["noAncestorHash"])
    promote_all(open_rest_catalog(settings, base), build_fixture(root).paths, run_id="run-1")
    client.create_branch(feature, base)
    extra = write_orders(root / "extra.parquet", orders(1, 4, first_id=900))
    append_table(open_rest_catalog(settings, feature), ORDERS, extra, "run-2")
    yield {"client": client, "settings": settings, "base": base, "feature": feature, "prefix": prefix}
    for ref in client.list_refs():
        if ref.name.startswith(prefix):
            with contextlib.suppress(NotFoundError):
                client.delete_ref(ref.name)
    client.close()


def names(client: NessieClient) -> dict[str, str]:
    """Name -> kind of every ref Nessie's API lists."""
    return {r.name: r.kind for r in client.list_refs()}


async def test_tui_creates_merges_deletes_and_logs(nessie: dict[str, Any]) -> None:
    client: NessieClient = nessie["client"]
    base, feature, prefix = nessie["base"], nessie["feature"], nessie["prefix"]
    base_head = client.get_ref(base).hash
    backend = build_stack(nessie["settings"])
    app = LakehouseApp(backend, nessie["settings"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        catalog = app.screen
        assert isinstance(catalog, CatalogScreen)
        catalog.open_table(ORDERS, base)
        await settle(pilot)
        catalog.query_one("#snapshots").focus()
        # Catalog -> table -> snapshot -> b: a Nessie branch from the ref the table is browsed on
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, InputModal)
        await pilot.press(*f"{prefix}-from-ref", "enter")
        await settle(pilot, 5)
        assert names(client)[f"{prefix}-from-ref"] == "branch"
        assert client.get_ref(f"{prefix}-from-ref").hash == base_head

        await pilot.press("n")  # the refs screen, on the table's ref
        await settle(pilot, 5)
        refs = app.screen
        assert isinstance(refs, NessieRefsScreen) and refs.selected_ref_name() == base
        log = client.commit_log(base, limit=100)
        rows = cells(refs.query_one("#commit-log"))
        assert [r[0] for r in rows] == [c.hash[:12] for c in log]
        assert any("bronze.orders" in r[3] for r in rows)  # the tables each commit touched
        # a tag at a commit of the log (the oldest one)
        grid = refs.query_one("#commit-log", DataTable)
        grid.focus()
        grid.move_cursor(row=len(log) - 1)
        await pilot.press("t", *f"{prefix}-at-commit", "enter")
        await settle(pilot, 5)
        assert names(client)[f"{prefix}-at-commit"] == "tag"
        assert client.get_ref(f"{prefix}-at-commit").hash == log[-1].hash
        assert refs.selected_ref_name() == f"{prefix}-at-commit"  # the new ref is highlighted
        # and a tag from the ref's head
        ref_grid = refs.query_one("#nessie-refs", DataTable)
        ref_grid.focus()
        ref_grid.move_cursor(row=[r.name for r in refs.refs].index(base))
        await settle(pilot)
        await pilot.press("t", *f"{prefix}-head-tag", "enter")
        await settle(pilot, 5)
        assert client.get_ref(f"{prefix}-head-tag").hash == base_head

        # merge feature into base: the dry run lists bronze.orders, then the confirmation merges
        ref_grid.move_cursor(row=[r.name for r in refs.refs].index(feature))
        await settle(pilot)
        await pilot.press("g", "ctrl+u", *base, "enter")
        await settle(pilot, 5)
        confirm = app.screen
        assert isinstance(confirm, ConfirmActionModal)
        assert confirm.question == f"Merge {feature} into {base}?"
        assert "  changed  bronze.orders" in confirm.detail.splitlines()
        assert client.get_ref(base).hash == base_head  # the dry run wrote nothing
        await pilot.press("y")
        await settle(pilot, 5)
        head = client.commit_log(base, limit=1)[0]
        assert head.hash != base_head and head.message == f"merge {feature} into {base}"
        assert head.author == getpass.getuser() and head.tables == ("bronze.orders",)
        assert refs.log_ref == base
        top = cells(refs.query_one("#commit-log"))[0]
        assert top[:4] == [head.hash[:12], getpass.getuser(), head.message, "bronze.orders"]

        # delete the tag made from the head, after a confirmation
        ref_grid.move_cursor(row=[r.name for r in refs.refs].index(f"{prefix}-head-tag"))
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmActionModal)
        await pilot.press("y")
        await settle(pilot, 5)
        assert f"{prefix}-head-tag" not in names(client)
        assert text_of(refs.query_one("#log-title")).startswith(f"{refs.selected_ref_name()}:")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def cli_env(nessie: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = nessie["settings"]
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "LAKEHOUSE_MODE": "stack",
        "LAKEHOUSE_DATA_DIR": str(tmp_path / "data"),
        "LAKEHOUSE_NESSIE__URL": settings.nessie.url,
        "LAKEHOUSE_NESSIE__REF": nessie["base"],
        "LAKEHOUSE_DREMIO__ENABLED": "false",
        "LAKEHOUSE_LOG_FILE": str(tmp_path / "lakehouse.log"),
    }.items():
        monkeypatch.setenv(key, value)


def test_cli_branch_tag_merge_log(
    nessie: dict[str, Any], cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    client: NessieClient = nessie["client"]
    base, prefix = nessie["base"], nessie["prefix"]
    work, tag = f"{prefix}-cli-work", f"{prefix}-cli-tag"
    first = client.commit_log(base, limit=100)[-1].hash

    code, out, _ = run(capsys, "branch", "create", work, "--from", base)
    assert code == 0 and out.startswith(f"created branch {work} at {client.get_ref(base).hash}")
    code, out, _ = run(capsys, "--json", "tag", "create", tag, "--from", base, "--hash", first)
    assert code == 0 and json.loads(out)["hash"] == first == client.get_ref(tag).hash
    code, out, _ = run(capsys, "--json", "branch", "list")
    listed = {r["name"]: r["kind"] for r in json.loads(out)}
    assert listed[work] == "branch" and tag not in listed
    code, out, _ = run(capsys, "tag")
    assert code == 0 and tag in out

    # a commit on the work branch, then merge it: dry run first (nothing written), then for real
    extra_rows = orders(1, 2, first_id=950)
    extra = write_orders(Path(nessie["settings"].data_path).parent / "cli.parquet", extra_rows)
    append_table(open_rest_catalog(nessie["settings"], work), ORDERS, extra, "run-cli")
    before = client.get_ref(base).hash
    code, out, _ = run(capsys, "merge", work, "--into", base, "--dry-run")
    assert code == 0
    assert out.splitlines()[:2] == [
        f"would merge {work} into {base}: 1 tables changed, 0 conflicts", "  changed  bronze.orders"]
    assert client.get_ref(base).hash == before
    code, out, _ = run(capsys, "--json", "merge", work, "--into", base)
    result = json.loads(out)
    assert code == 0 and result["applied"] and result["changed_keys"] == ["bronze.orders"]
    assert client.get_ref(base).hash == result["resultant_hash"] != before

    code, out, _ = run(capsys, "log", base, "--limit", "2")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(result["resultant_hash"][:12])
    assert lines[0].endswith(getpass.getuser())
    assert lines[1:3] == [f"    merge {work} into {base}", "    tables: bronze.orders"]
    code, out, _ = run(capsys, "--json", "log", base, "--limit", "1")
    assert json.loads(out)[0]["tables"] == ["bronze.orders"]

    code, out, _ = run(capsys, "tag", "delete", tag)
    assert code == 0 and out.startswith(f"deleted tag {tag}")
    code, _, err = run(capsys, "branch", "delete", tag)
    assert code == 4 and "not found" in err
    code, _, err = run(capsys, "tag", "delete", work)
    assert code == 2 and err.strip() == f"error: {work} is a branch, not a tag"
    code, _, _ = run(capsys, "branch", "delete", work)
    assert code == 0 and work not in names(client) and tag not in names(client)
    code, _, err = run(capsys, "log", f"{prefix}-nope")
    assert code == 4 and "not found" in err
