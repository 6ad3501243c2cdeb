"""Phase 3's daily revenue as a bar chart (textual-plotext) with a date axis and a revenue axis."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from lakehouse_core.report import RevenueDay
from lakehouse_core.units import unit_of
from tui.widgets.time_plot import _BUILD_LOCK

BAR_COLOR = (66, 165, 245)
DATE_LABEL = 8  # "11-30" and room on both sides (labels closer than that are shifted unpredictably)


def date_ticks(days: tuple[RevenueDay, ...], width: int) -> tuple[list[float], list[str]]:
    """Every n-th day's ``MM-DD`` so that the labels fit ``width`` cells (the y axis takes ~8)."""
    step = max(1, math.ceil(len(days) * DATE_LABEL / max(1, width - 8)))
    chosen = list(range(0, len(days), step))
    return [float(i) for i in chosen], [days[i].day.strftime("%m-%d") for i in chosen]


def build(plt: Plot, days: tuple[RevenueDay, ...], width: int, height: int) -> str:
    """The ANSI text of the revenue bars at ``width`` x ``height`` cells."""
    plt.clear_figure()
    plt.theme("clear")
    plt.plotsize(width, height)
    plt._set_size(width, height)
    xs = [float(i) for i in range(len(days))]
    plt.bar(xs, [d.revenue for d in days], color=BAR_COLOR, width=0.6)
    high = max((d.revenue for d in days), default=1.0)
    ticks = unit_of("").ticks(0.0, high, max(2, min(8, (height - 3) // 3)))
    plt.ylim(ticks[0][0], ticks[-1][0])
    plt.yticks([v for v, _ in ticks], [label for _, label in ticks])
    plt.xlim(-0.6, len(days) - 0.4)
    plt.xticks(*date_ticks(days, width))
    return plt.build().rstrip("\n")


class RevenueChart(PlotextPlot):
    """Revenue per day, oldest first; ``empty_text`` when there is no day."""

    DEFAULT_CSS = """
    RevenueChart {
        height: 1fr;
        min-height: 6;
    }
    """

    def __init__(self, *, id: str | None = None, empty_text: str = "no days") -> None:  # noqa: A002
        super().__init__(id=id)
        self.theme = "clear"
        self.days: tuple[RevenueDay, ...] = ()
        self.empty_text = empty_text

    def show(self, days: tuple[RevenueDay, ...]) -> None:
        self.days = days
        self.refresh()

    def render(self) -> RenderResult:
        width, height = self.size
        if not self.days or width <= 10 or height <= 3:
            return Text(self.empty_text, style="dim", justify="center")
        with _BUILD_LOCK:  # plotext keeps module-level state while it builds (metrics plots build in threads)
            return Text.from_ansi(build(self.plt, self.days, width, height), no_wrap=True, end="")
