"""A metric panel: title, one sparkline per series, last value coloured by threshold."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline

from lakehouse_core.models import MetricPanel, Series
from tui.widgets import fmt

MAX_SERIES = 3


def level(panel: MetricPanel, value: float | None) -> str:
    """``"critical"``, ``"warn"`` or ``"ok"`` for ``value`` against the panel's thresholds."""
    if value is None:
        return "ok"
    if panel.critical is not None and value >= panel.critical:
        return "critical"
    if panel.warn is not None and value >= panel.warn:
        return "warn"
    return "ok"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "bytes":
        return fmt.size(int(value))
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".rstrip()


def _threshold(value: float, unit: str) -> str:
    return fmt.size(int(value)) if unit == "bytes" else f"{value:g}"


def _series_label(series: Series) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(series.labels.items()))
    return labels or series.name


class MetricChart(Vertical):
    """One MetricPanel with its latest series."""

    def __init__(self, panel: MetricPanel) -> None:
        super().__init__(id=f"panel-{panel.panel_id}", classes="metric-chart")
        self.panel = panel
        self.border_title = panel.title
        self._series: list[Series] | None = None  # the latest series, drawn once the children are mounted
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield Label("no data", classes="metric-value")
        for index in range(MAX_SERIES):
            yield Label("", classes=f"series-label series-{index}")
            yield Sparkline([], classes=f"series-{index}")

    def on_mount(self) -> None:
        self._mounted = True  # the composed children are mounted before this handler runs
        if self._series is not None:
            self._draw(self._series)

    def show(self, series: list[Series]) -> None:
        """Draw ``series`` and colour the panel by the worst last value (on mount when not mounted yet)."""
        self._series = series
        if self._mounted:
            self._draw(series)

    def _draw(self, series: list[Series]) -> None:
        values = [s.last for s in series if s.last is not None]
        worst = max(values) if values else None
        state = level(self.panel, worst)
        self.set_class(state == "warn", "warn")
        self.set_class(state == "critical", "critical")
        thresholds = []
        if self.panel.warn is not None:
            thresholds.append(f"warn {_threshold(self.panel.warn, self.panel.unit)}")
        if self.panel.critical is not None:
            thresholds.append(f"crit {_threshold(self.panel.critical, self.panel.unit)}")
        extra = f"  ({', '.join(thresholds)})" if thresholds else ""
        self.query_one(".metric-value", Label).update(f"{_value(worst, self.panel.unit)}{extra}")
        for index in range(MAX_SERIES):
            label = self.query_one(f"Label.series-{index}", Label)
            spark = self.query_one(f"Sparkline.series-{index}", Sparkline)
            if index < len(series):
                item = series[index]
                label.update(f"{_series_label(item)}: {_value(item.last, self.panel.unit)}")
                spark.data = [v for _, v in item.points]
                label.display = spark.display = True
            else:
                label.display = spark.display = False
