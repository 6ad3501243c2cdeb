"""The Overview log and phase columns keep every character at 80x24 and 160x48 (fake backend)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.widgets import DataTable

from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import settle
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.widgets.phase_log import PhaseLog
from tui.widgets.phase_panel import PhaseProgressPanel, PhaseResultsTable

SIZES = [(80, 24), (160, 48)]
LINES = [
    "[transform_to_silver] start: Join valid orders, customers and products into silver.orders_enriched "
    "(order_year, order_month) with every column typed and every key checked before anything is written",
    "x" * 230,  # one word longer than any pane: folded, not cut
    "phase 2 finished in 7.8 s: bronze.customers 1,000, bronze.products 200, bronze.orders 5,000, "
    "silver.orders_enriched 4,586, gold.daily_sales 365; quality failures 0; snapshots 8 [not markup]",
]


def visible_text(log: PhaseLog) -> tuple[str, int]:
    """What the log's lines hold, and the widest of them in cells."""
    strips = log.lines
    return "".join(strip.text for strip in strips), max(strip.cell_length for strip in strips)


def squeeze(text: str) -> str:
    return "".join(text.split())


def assert_whole(log: PhaseLog) -> None:
    text, widest = visible_text(log)
    width = log.scrollable_content_region.width
    assert widest <= width, f"a line is {widest} cells wide in a pane of {width}: its end is cut"
    # every character, in order (wrapping only turns the spaces where it breaks into line ends)
    assert squeeze(text) == squeeze("".join(LINES))
    for line in LINES:
        assert squeeze(line) in squeeze(text)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_log_lines_longer_than_the_pane_keep_every_character(
    settings: LakehouseSettings, size: tuple[int, int]
) -> None:
    app = LakehouseApp(make_fake_backend(), settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        log = app.screen.query_one(PhaseLog)
        for line in LINES:
            log.add(line)
        await pilot.pause()
        assert log.scrollable_content_region.width < len(LINES[0])  # the lines are longer than the pane
        assert_whole(log)
        assert log.texts == LINES
        # a resize wraps the same lines again at the new width
        other = SIZES[1] if size == SIZES[0] else SIZES[0]
        await pilot.resize_terminal(*other)
        await settle(pilot)
        assert_whole(log)


def cell_fits(table: DataTable[Text | str]) -> list[str]:
    """The cells whose text is wider than their column (rendered cut or with an ellipsis); the summary
    column, which takes the width the others leave, may end in an ellipsis (the status line and the log
    show it whole)."""
    cut = []
    for column in table.ordered_columns:
        if column.key.value == "summary":
            continue
        for row in table.ordered_rows:
            value = table.get_cell(row.key, column.key)
            text = value.plain if isinstance(value, Text) else str(value)
            if Text(text).cell_len > column.get_render_width(table) - 2 * table.cell_padding:
                cut.append(f"{column.label.plain}: {text}")
    return cut


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_phase_columns_fit_the_pane(settings: LakehouseSettings, size: tuple[int, int]) -> None:
    app = LakehouseApp(make_fake_backend(orders=2_000, chunk=500), settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        table = app.screen.query_one(PhaseResultsTable)
        await pilot.pause(0.2)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        started = [c for c in table.ordered_columns if c.label.plain == "Started"]
        assert started, "the Started column is shown"
        assert cell_fits(table) == []
        panel = app.screen.query_one(PhaseProgressPanel)
        rendered = panel.render_lines(panel.size.region)
        text = "\n".join(strip.text for strip in rendered)
        assert "100%" in text and "1…" not in text
