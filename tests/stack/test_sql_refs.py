"""SQL on any Nessie ref against the real Nessie + MinIO: two branches that received different phase-2
runs (seeds 42 and 7), the same gold query on each through the CLI (``--as-of``) and the TUI (ref
picker, then the two-ref view with the differing rows highlighted)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList, Select

from lakehouse_core.backends.stack import build_stack
from lakehouse_core.backends.stack.iceberg_rest import open_rest_catalog
from lakehouse_core.backends.stack.nessie import NessieClient
from lakehouse_core.cli import main
from lakehouse_core.settings import LakehouseSettings, NessieSettings
from tests.stack.conftest import StackEndpoints, make_stack_settings
from tests.tui.conftest import cells, settle, text_of, wait_until
from tui.app import LakehouseApp
from tui.screens.modals import ChoiceModal
from tui.screens.sql import SqlScreen
from tui.widgets.compare_view import CompareView

GOLD = "SELECT date, num_orders, total_revenue FROM gold.daily_sales ORDER BY date"
Row = tuple[str, ...]


@dataclass(frozen=True)
class Refs:
    home: str  # the branch the settings name (what "current" reads)
    other: str  # a branch with another phase-2 run
    tag: str  # a tag at ``other``'s HEAD
    home_hash: str
    settings: LakehouseSettings
    rows: dict[str, list[Row]]  # per branch, read through pyiceberg (not the engine under test)


def _settings(stack: StackEndpoints, root: Path, branch: str, seed: int) -> LakehouseSettings:
    return make_stack_settings(
        stack, root / "data", orders=600, seed=seed, defect_rate=0.0,
        nessie=NessieSettings(url=stack.nessie_url, ref=branch),
    )


def _gold_rows(settings: LakehouseSettings, ref: str) -> list[Row]:
    table = open_rest_catalog(settings, ref).load_table("gold.daily_sales").scan().to_arrow()
    data = table.select(["date", "num_orders", "total_revenue"]).sort_by("date")
    return [tuple(str(v) for v in row) for row in zip(*(c.to_pylist() for c in data.columns), strict=True)]


@pytest.fixture(scope="module")
def refs(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Refs]:
    suffix = uuid.uuid4().hex[:8]
    home, other, tag = f"sqlref-home-{suffix}", f"sqlref-etl-{suffix}", f"sqlref-tag-{suffix}"
    made: dict[str, LakehouseSettings] = {}
    for branch, seed in ((home, 42), (other, 7)):
        settings = _settings(stack, tmp_path_factory.mktemp(branch), branch, seed)
        backend = build_stack(settings)
        assert backend.phases.run(1).ok and backend.phases.run(2).ok
        made[branch] = settings
    client = NessieClient(made[home])
    client.create_tag(tag, other)
    rows = {branch: _gold_rows(made[home], branch) for branch in (home, other)}
    assert rows[home] != rows[other]  # two different runs
    yield Refs(home, other, tag, client.get_ref(home).hash, made[home], rows)
    for name in (tag, other, home):
        client.delete_ref(name)
    client.close()


# ------------------------------------------------------------------ CLI
@pytest.fixture()
def cli_env(refs: Refs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = refs.settings
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "LAKEHOUSE_MODE": "stack",
        "LAKEHOUSE_DATA_DIR": str(settings.data_path),
        "LAKEHOUSE_NESSIE__URL": settings.nessie.url,
        "LAKEHOUSE_NESSIE__REF": refs.home,
        "LAKEHOUSE_MINIO__ENDPOINT": settings.minio.endpoint,
        "LAKEHOUSE_MINIO__ACCESS_KEY": settings.minio.access_key,
        "LAKEHOUSE_MINIO__SECRET_KEY": settings.minio.secret_key.get_secret_value(),
        "LAKEHOUSE_PROMETHEUS__URL": settings.prometheus.url,
        "LAKEHOUSE_DREMIO__ENABLED": "false",
    }.items():
        monkeypatch.setenv(key, value)


def _cli_rows(capsys: pytest.CaptureFixture[str], *as_of: str) -> tuple[int, list[Row], str]:
    code = main(["--json", "sql", GOLD, *(("--as-of", *as_of) if as_of else ())])
    out, err = capsys.readouterr()
    rows = [tuple(str(v) for v in row) for row in json.loads(out)["rows"]] if code == 0 else []
    return code, rows, err


def test_cli_as_of_a_branch_tag_or_commit_reads_that_ref(
    refs: Refs, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli_rows(capsys) == (0, refs.rows[refs.home], "")
    assert _cli_rows(capsys, refs.other) == (0, refs.rows[refs.other], "")
    assert _cli_rows(capsys, refs.home) == (0, refs.rows[refs.home], "")
    assert _cli_rows(capsys, refs.tag) == (0, refs.rows[refs.other], "")
    assert _cli_rows(capsys, refs.home_hash) == (0, refs.rows[refs.home], "")
    code, _, err = _cli_rows(capsys, f"nosuch-{uuid.uuid4().hex[:6]}")
    assert code == 1 and "no Nessie branch, tag or commit" in err


def test_cli_as_of_main_reads_main(refs: Refs, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` is read at Nessie's main (whatever other tests merged there), not at the home branch."""
    try:
        expected: list[Row] | None = _gold_rows(refs.settings, "main")
    except Exception:  # noqa: BLE001 - main may not hold the table in a fresh Nessie
        expected = None
    code, rows, err = _cli_rows(capsys, "main")
    if expected is None:
        assert code == 1 and "daily_sales" in err
    else:
        assert (code, rows) == (0, expected)


# ------------------------------------------------------------------ TUI
def _tuples(grid: Any) -> list[Row]:
    return [tuple(row[:3]) for row in cells(grid)]


async def test_tui_picks_a_branch_then_compares_two_refs(refs: Refs, tmp_path: Path) -> None:
    from tests.tui.conftest import make_settings

    tui = make_settings(tmp_path).tui.model_copy(update={"display_cap": 1000, "fetch_limit": 5000})
    settings = refs.settings.model_copy(update={"tui": tui})
    app = LakehouseApp(build_stack(settings), settings)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        assert await wait_until(pilot, lambda: refs.other in screen.ref_names, 30)
        assert refs.tag in screen.ref_names and refs.home in screen.ref_names
        screen.editor.text = GOLD

        # pick the other branch, run: its own rows
        await pilot.press("ctrl+n")
        screen.query_one("#ref", Select).value = refs.other
        await pilot.press("ctrl+r")
        assert await wait_until(pilot, lambda: not screen.running, 60)
        await settle(pilot)
        assert "ref " + refs.other in text_of(screen.query_one("#result-summary"))
        assert _tuples(screen.query_one("#results")) == refs.rows[refs.other]

        # back to the home branch, then the same statement on both side by side
        screen.query_one("#ref", Select).value = refs.home
        await pilot.press("ctrl+f")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ChoiceModal)
        listing = modal.query_one(OptionList)
        ids = [str(listing.get_option_at_index(i).id) for i in range(listing.option_count)]
        assert refs.home not in ids
        listing.highlighted = ids.index(refs.other)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: screen.comparison is not None and not screen.running, 90)
        await settle(pilot)
        view = screen.query_one(CompareView)
        assert view.display
        left, right = view.grid("left"), view.grid("right")
        assert _tuples(left) == refs.rows[refs.home] and _tuples(right) == refs.rows[refs.other]
        home_set, other_set = set(refs.rows[refs.home]), set(refs.rows[refs.other])
        expect_left = {i for i, row in enumerate(refs.rows[refs.home]) if row not in other_set}
        expect_right = {i for i, row in enumerate(refs.rows[refs.other]) if row not in home_set}
        assert expect_left and expect_right
        assert left.grid.differs == expect_left and right.grid.differs == expect_right
        assert text_of(screen.query_one("#result-summary")).startswith(f"{refs.home} ↔ {refs.other}: ")
    app.backend.sql.close()  # type: ignore[attr-defined]
