"""A metric panel: latest value against the thresholds, a time-series plot, a legend of every series.

Values, thresholds and axis labels read in the panel's unit (``lakehouse_core.units``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label

from lakehouse_core.models import MetricPanel, Series
from lakehouse_core.units import unit_of
from tui.widgets.time_plot import RGB, Line, PlotSpec, TimeSeriesPlot

# line colours, in series order (distinct on dark and light backgrounds)
PALETTE: tuple[RGB, ...] = (
    (66, 165, 245),
    (255, 167, 38),
    (102, 187, 106),
    (171, 71, 188),
    (38, 198, 218),
    (236, 64, 122),
    (212, 225, 87),
    (141, 110, 99),
)


def level(panel: MetricPanel, value: float | None) -> str:
    """``"critical"``, ``"warn"`` or ``"ok"`` for ``value`` against the panel's thresholds."""
    if value is None:
        return "ok"
    if panel.critical is not None and value >= panel.critical:
        return "critical"
    if panel.warn is not None and value >= panel.warn:
        return "warn"
    return "ok"


def series_labels(series: Sequence[Series]) -> list[str]:
    """Short names: the label values that differ between the series (all of them for a single one;
    ``last`` for a single series without labels)."""
    keys = sorted({key for s in series for key in s.labels})
    varying = [k for k in keys if len({s.labels.get(k) for s in series}) > 1] or keys
    names = [" ".join(s.labels[k] for k in varying if k in s.labels) for s in series]
    return [name or ("last" if len(series) == 1 else s.name) for name, s in zip(names, series, strict=True)]


def color(index: int) -> RGB:
    return PALETTE[index % len(PALETTE)]


class SeriesLegend(Widget):
    """Legend entries ("━ name value") packed into as many lines as the width needs."""

    DEFAULT_CSS = """
    SeriesLegend {
        height: auto;
    }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.entries: list[Text] = []

    def update(self, entries: list[Text]) -> None:
        self.entries = entries
        self.refresh(layout=True)

    def _lines(self, width: int) -> list[Text]:
        lines: list[Text] = []
        for entry in self.entries:
            if lines and lines[-1].cell_len + 2 + entry.cell_len <= width:
                lines[-1].append("  ")
                lines[-1].append_text(entry)
            else:
                lines.append(entry.copy())
        return lines

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self._lines(width)))

    def render(self) -> Text:
        return Text("\n").join(self._lines(self.size.width))

    @property
    def plain(self) -> str:
        """The entries' text, one entry a line (what a reader of the legend gets)."""
        return "\n".join(entry.plain for entry in self.entries)


class MetricChart(Vertical):
    """One MetricPanel with its latest series."""

    def __init__(self, panel: MetricPanel) -> None:
        super().__init__(id=f"panel-{panel.panel_id}", classes="metric-chart")
        self.panel = panel
        self.unit = unit_of(panel.unit)
        self.border_title = panel.title
        self._data: tuple[list[Series], float, float] | None = None  # drawn once the children are mounted
        self._mounted = False
        self._plot_height = 6

    @property
    def plot_height(self) -> int:
        return self._plot_height

    @plot_height.setter
    def plot_height(self, lines: int) -> None:
        self._plot_height = lines
        if self._mounted:
            self.query_one(TimeSeriesPlot).styles.height = lines

    def compose(self) -> ComposeResult:
        yield Label("no data", classes="metric-value")
        yield TimeSeriesPlot(classes="metric-plot")
        yield SeriesLegend(classes="metric-legend")

    def on_mount(self) -> None:
        self._mounted = True  # the composed children are mounted before this handler runs
        self.plot_height = self._plot_height
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())
        self._redraw()

    def show(self, series: list[Series], *, end: float, window_s: float) -> None:
        """Draw ``series`` over ``end - window_s``..``end`` (unix seconds) and colour the panel by the
        worst last value (on mount when not mounted yet)."""
        self._data = (series, end, window_s)
        self._redraw()

    def thresholds_text(self) -> str:
        parts = []
        if self.panel.warn is not None:
            parts.append(f"warn {self.unit.format(self.panel.warn)}")
        if self.panel.critical is not None:
            parts.append(f"crit {self.unit.format(self.panel.critical)}")
        return " · ".join(parts)

    def _theme_rgb(self, name: str, default: RGB) -> RGB:
        value = self.app.theme_variables.get(name)
        return Color.parse(value).rgb if value else default

    def _redraw(self) -> None:
        if not self._mounted or self._data is None:
            return
        series, end, window_s = self._data
        drawn = [s for s in series if s.points]
        values = [s.last for s in drawn if s.last is not None]
        worst = max(values) if values else None
        state = level(self.panel, worst)
        self.set_class(state == "warn", "warn")
        self.set_class(state == "critical", "critical")
        value = Text(self.unit.format(worst), style="bold")
        if worst is not None and len(drawn) > 1:
            value = Text.assemble("max ", value)
        self.query_one(".metric-value", Label).update(value)
        self.border_subtitle = self.thresholds_text()

        names = series_labels(drawn)
        legend = [
            Text.assemble(
                ("━ ", "rgb({},{},{})".format(*color(i))), f"{name} ", (self.unit.format(s.last), "bold")
            )
            for i, (name, s) in enumerate(zip(names, drawn, strict=True))
        ]
        self.query_one(SeriesLegend).update(legend)
        self.query_one(TimeSeriesPlot).draw(self.spec(drawn, end, window_s))

    def spec(self, series: list[Series], end: float, window_s: float) -> PlotSpec:
        """What the plot draws: time relative to ``end``, a value axis from 0 (or below) to the highest
        of the data and the warning level, the thresholds as horizontal lines."""
        start = end - window_s
        lines = []
        for index, s in enumerate(series):
            points = [(t - end, v) for t, v in s.points if start <= t <= end]
            if points:
                xs, ys = zip(*points, strict=True)
                lines.append(Line(tuple(xs), tuple(ys), color(index)))
        ys_all = [y for line in lines for y in line.ys]
        low = min([0.0, *ys_all])
        high = max([low, *ys_all, *([self.panel.warn] if self.panel.warn is not None else [])])
        thresholds: list[tuple[float, RGB]] = []
        if self.panel.warn is not None:
            thresholds.append((self.panel.warn, self._theme_rgb("warning", (255, 166, 43))))
        if self.panel.critical is not None:
            thresholds.append((self.panel.critical, self._theme_rgb("error", (255, 71, 87))))
        minutes = f"{window_s / 60:g}m" if window_s < 3600 else f"{window_s / 3600:g}h"
        return PlotSpec(
            tuple(lines),
            window_s,
            self.panel.unit,
            low,
            high,
            tuple(thresholds),
            self.panel.absent or f"no data in the last {minutes}",
        )
