"""Metrics: one time-series chart per panel, window picker, pause, refresh rate, alerts."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.timer import Timer
from textual.widgets import DataTable, Header, Label
from textual.worker import Worker, WorkerState

from lakehouse_core.models import AlertState, Series
from lakehouse_core.units import unit_of
from tui.messages import MetricsLoaded
from tui.screens.base import LakehouseScreen
from tui.widgets.footer import LakehouseFooter
from tui.widgets.metric_chart import MetricChart

WINDOWS: dict[str, int] = {"5m": 300, "15m": 900, "1h": 3600, "6h": 21600}
RATES: tuple[float, ...] = (1, 2, 5, 10, 30, 60)
DEFAULT_RATE = 5.0
POINTS = 60
ALERT_STYLE = {"firing": "bold red", "pending": "yellow", "ok": "green"}
# chart grid: columns by screen width; plots share the height left by the header, status line, footer,
# alerts and each panel's border, value and legend lines, within these bounds (the body scrolls)
MIN_PLOT_HEIGHT = 5
MAX_PLOT_HEIGHT = 16
PANEL_LINES = 5
THREE_COLUMNS_FROM = 150
TWO_COLUMNS_FROM = 70


def window_label(seconds: int) -> str:
    return next((name for name, value in WINDOWS.items() if value == seconds), f"{seconds}s")


def alert_summary(alerts: list[AlertState]) -> Text:
    """``1 firing, 1 pending`` in the alert colours, or ``alerts ok``."""
    counts = [(state, sum(a.state == state for a in alerts)) for state in ("firing", "pending")]
    parts = [Text(f"{n} {state}", style=ALERT_STYLE[state]) for state, n in counts if n]
    return Text(", ").join(parts) if parts else Text("alerts ok", style=ALERT_STYLE["ok"])


class MetricsScreen(LakehouseScreen):
    """Live charts of ``backend.metrics.panels()`` and the alert list.

    Refreshing is either live (a timer every ``interval`` seconds) or paused (no timer); ``p`` toggles,
    ``+``/``-`` change the interval, ``r`` and the window keys fetch once either way.
    """

    CSS_PATH = str(Path(__file__).with_name("metrics.tcss"))  # parsed on first show, after the first frame
    TITLE_TEXT = "Metrics"
    BINDINGS = [
        *[
            Binding(str(i), f"window({seconds})", name, id=f"metrics.window_{name}")
            for i, (name, seconds) in enumerate(WINDOWS.items(), start=1)
        ],
        Binding("p", "pause", "Pause", id="metrics.pause"),
        Binding("plus,equals_sign", "faster", "Faster", id="metrics.faster"),
        Binding("minus", "slower", "Slower", id="metrics.slower"),
        Binding("r", "refresh", "Refresh", id="metrics.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__(id="metrics")
        self.window_s = WINDOWS["15m"]
        self.paused = True
        self.interval = DEFAULT_RATE
        self._timer: Timer | None = None
        self._worker: Worker[Any] | None = None
        self._charts: dict[str, MetricChart] = {}
        self._alerts: list[AlertState] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="metrics-status")
        with VerticalScroll(id="metrics-body"):
            yield Grid(id="charts")
            yield Label("Alerts", classes="section-title")
            yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self.query_one("#alerts", DataTable).add_columns(
            "Alert", "State", "Severity", "Value", "Threshold", "Message"
        )
        configured = float(self.settings.tui.metrics_refresh_seconds)
        self.paused = configured <= 0  # 0 in the settings: start paused
        self.interval = configured if configured > 0 else DEFAULT_RATE
        self._schedule()
        self.call_after_refresh(self.action_refresh)

    # ------------------------------------------------------------------ timer + status
    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self.paused:
            self._timer = self.set_interval(self.interval, self.action_refresh)
        self._show_status()

    def _show_status(self) -> None:
        refresh = (
            Text(f"PAUSED (p resumes, every {self.interval:g}s)", style="bold yellow")
            if self.paused
            else Text(f"live, every {self.interval:g}s")
        )
        self.query_one("#metrics-status", Label).update(
            Text.assemble(
                f"window {window_label(self.window_s)} · ", refresh, " · ", alert_summary(self._alerts)
            )
        )

    # ------------------------------------------------------------------ actions
    def action_window(self, seconds: int) -> None:
        self.window_s = seconds
        self._show_status()
        self.action_refresh()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._schedule()
        if not self.paused:
            self.action_refresh()

    def action_faster(self) -> None:
        faster = [r for r in RATES if r < self.interval]
        self.interval = float(faster[-1]) if faster else float(RATES[0])
        self._schedule()

    def action_slower(self) -> None:
        slower = [r for r in RATES if r > self.interval]
        self.interval = float(slower[0]) if slower else float(RATES[-1])
        self._schedule()

    def action_refresh(self) -> None:
        if self._worker is not None and self._worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self._worker = self.load_metrics(self.window_s)

    @work(thread=True, exclusive=True, group="metrics", exit_on_error=False)
    def load_metrics(self, window_s: int) -> None:
        metrics = self.backend.metrics
        panels = metrics.panels()
        window = timedelta(seconds=window_s)
        step = timedelta(seconds=max(1, window_s // POINTS))
        series: dict[str, list[Series]] = {
            panel.panel_id: metrics.range(panel.query, window=window, step=step) for panel in panels
        }
        self.post_message(MetricsLoaded(panels, series, metrics.alerts(), window_s))

    # ------------------------------------------------------------------ layout
    def on_resize(self, event: events.Resize) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int) -> None:
        """Columns by width; plot height by what is left of the screen height per row of panels."""
        columns = 3 if width >= THREE_COLUMNS_FROM else 2 if width >= TWO_COLUMNS_FROM else 1
        self.query_one("#charts", Grid).styles.grid_size_columns = columns
        rows = max(1, math.ceil(len(self._charts) / columns))
        free = height - 3 - (2 + max(1, len(self._alerts)))  # header, status, footer; alerts title + table
        plot_height = min(MAX_PLOT_HEIGHT, max(MIN_PLOT_HEIGHT, free // rows - PANEL_LINES))
        for chart in self._charts.values():
            chart.plot_height = plot_height

    @on(MetricsLoaded)
    def show_metrics(self, message: MetricsLoaded) -> None:
        grid = self.query_one("#charts", Grid)
        ends = [s.points[-1][0] for series in message.series.values() for s in series if s.points]
        end = max(ends) if ends else time.time()  # the newest sample is the right edge of every chart
        for panel in message.panels:
            chart = self._charts.get(panel.panel_id)
            if chart is None:
                chart = self._charts[panel.panel_id] = MetricChart(panel)
                grid.mount(chart)
            chart.show(message.series.get(panel.panel_id, []), end=end, window_s=message.window_s)
        self._alerts = list(message.alerts)
        alerts = self.query_one("#alerts", DataTable)
        alerts.clear()
        for alert in message.alerts:
            unit = unit_of(alert.unit)
            alerts.add_row(
                alert.name,
                Text(alert.state, style=ALERT_STYLE[alert.state]),
                alert.severity,
                "-" if alert.value is None else unit.format(alert.value),
                unit.format(alert.threshold),
                alert.message,
                key=alert.name,
            )
        self._show_status()
        self._layout(self.size.width, self.size.height)
