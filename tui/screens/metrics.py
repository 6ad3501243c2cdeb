"""Metrics: one sparkline chart per panel, window picker, pause, refresh rate, alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Header, Label
from textual.worker import Worker, WorkerState

from lakehouse_core.models import Series
from tui.messages import MetricsLoaded
from tui.screens.base import LakehouseScreen
from tui.widgets.footer import LakehouseFooter
from tui.widgets.metric_chart import MetricChart

WINDOWS: dict[str, int] = {"5m": 300, "15m": 900, "1h": 3600, "6h": 21600}
RATES: tuple[float, ...] = (1, 2, 5, 10, 30, 60)
POINTS = 60
ALERT_STYLE = {"firing": "bold red", "pending": "yellow", "ok": "green"}


def window_label(seconds: int) -> str:
    return next((name for name, value in WINDOWS.items() if value == seconds), f"{seconds}s")


class MetricsScreen(LakehouseScreen):
    """Live charts of ``backend.metrics.panels()`` and the alert list."""

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
        self.paused = False
        self.interval = 0.0
        self._timer: Timer | None = None
        self._worker: Worker[Any] | None = None
        self._charts: dict[str, MetricChart] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="metrics-body"):
            yield Label("", id="metrics-status")
            yield Grid(id="charts")
            yield Label("Alerts", classes="section-title")
            yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield LakehouseFooter()

    def on_mount(self) -> None:
        self.query_one("#alerts", DataTable).add_columns(
            "Alert", "State", "Severity", "Value", "Threshold", "Message"
        )
        self.interval = float(self.settings.tui.metrics_refresh_seconds)
        self._schedule()
        self.call_after_refresh(self.action_refresh)

    # ------------------------------------------------------------------ timer + status
    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.interval > 0:
            self._timer = self.set_interval(self.interval, self._tick)
        self._show_status()

    def _show_status(self) -> None:
        rate = f"every {self.interval:g}s" if self.interval > 0 else "off"
        paused = " · PAUSED" if self.paused else ""
        self.query_one("#metrics-status", Label).update(
            f"window {window_label(self.window_s)} · refresh {rate}{paused} · 1-4 window · p pause · +/- rate"
        )

    def _tick(self) -> None:
        if not self.paused:
            self.action_refresh()

    # ------------------------------------------------------------------ actions
    def action_window(self, seconds: int) -> None:
        self.window_s = seconds
        self._show_status()
        self.action_refresh()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._show_status()

    def action_faster(self) -> None:
        faster = [r for r in RATES if r < self.interval] if self.interval > 0 else list(RATES)
        self.interval = float(faster[-1]) if faster else float(RATES[0])
        self._schedule()

    def action_slower(self) -> None:
        slower = [r for r in RATES if r > self.interval]
        self.interval = float(slower[0]) if slower and self.interval > 0 else 0.0
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

    @on(MetricsLoaded)
    def show_metrics(self, message: MetricsLoaded) -> None:
        grid = self.query_one("#charts", Grid)
        for panel in message.panels:
            chart = self._charts.get(panel.panel_id)
            if chart is None:
                chart = self._charts[panel.panel_id] = MetricChart(panel)
                grid.mount(chart)
            chart.show(message.series.get(panel.panel_id, []))  # drawn on mount when just created
        alerts = self.query_one("#alerts", DataTable)
        alerts.clear()
        for alert in message.alerts:
            value = "-" if alert.value is None else f"{alert.value:,.2f}"
            alerts.add_row(
                alert.name,
                Text(alert.state, style=ALERT_STYLE[alert.state]),
                alert.severity,
                value,
                f"{alert.threshold:g}",
                alert.message,
                key=alert.name,
            )
