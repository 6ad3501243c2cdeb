"""Metrics screen on the fake backend: charts, thresholds, window keys, pause, rate keys, alerts."""

from __future__ import annotations

from datetime import timedelta

from textual.pilot import Pilot
from textual.widgets import Sparkline

from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fakes import FakeBackend, FakeMetrics
from tui.app import LakehouseApp
from tui.screens.metrics import MetricsScreen
from tui.widgets.metric_chart import MetricChart


async def open_metrics(pilot: Pilot[None]) -> MetricsScreen:
    await pilot.press("f4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MetricsScreen)
    return screen


def metrics(backend: FakeBackend) -> FakeMetrics:
    assert isinstance(backend.metrics, FakeMetrics)
    return backend.metrics


async def test_charts_thresholds_and_alerts(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(pilot)
        charts = {chart.panel.panel_id: chart for chart in screen.query(MetricChart)}
        assert list(charts) == ["cpu", "memory", "rows", "latency"]
        assert text_of(charts["memory"].query_one(".metric-value")) == "91.50 %  (warn 80, crit 90)"
        assert charts["memory"].has_class("critical") and not charts["memory"].has_class("warn")
        assert charts["latency"].has_class("warn") and not charts["latency"].has_class("critical")
        assert not charts["cpu"].has_class("warn") and not charts["cpu"].has_class("critical")
        spark = charts["memory"].query(Sparkline).first()
        assert len(spark.data or []) == 60 and list(spark.data or [])[:2] == [62.0, 62.5]
        assert text_of(charts["rows"].query_one(".series-label")) == "instance=embedded: 183 rows/s"
        assert cells(screen.query_one("#alerts")) == [
            ["HighMemoryUsage", "firing", "critical", "91.50", "90", "memory usage above 90% for 1m"],
            ["SlowQueries", "pending", "warning", "613.00", "500", "p95 query latency above 500 ms"],
            ["PhaseFailed", "ok", "critical", "0.00", "1", "no failed phase"],
        ]
        assert text_of(screen.query_one("#metrics-status")).startswith("window 15m · refresh off")


async def test_window_keys_change_the_range(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(pilot)
        assert metrics(fake_backend).range_calls[-1][1:] == (timedelta(minutes=15), timedelta(seconds=15))
        for key, window in (
            ("1", timedelta(minutes=5)),
            ("3", timedelta(hours=1)),
            ("4", timedelta(hours=6)),
            ("2", timedelta(minutes=15)),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert metrics(fake_backend).range_calls[-1][1] == window
            assert metrics(fake_backend).range_calls[-1][2] == window / 60
        await pilot.press("1")
        await settle(pilot)
        assert text_of(screen.query_one("#metrics-status")).startswith("window 5m ·")


async def test_pause_and_refresh_rate_keys(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(pilot)
        status = screen.query_one("#metrics-status")
        await pilot.press("plus")  # off -> the slowest rate
        assert screen.interval == 60.0 and text_of(status).startswith("window 15m · refresh every 60s ·")
        await pilot.press("plus", "plus", "plus")
        assert screen.interval == 5.0
        await pilot.press("minus")
        assert screen.interval == 10.0
        await pilot.press("p")
        assert screen.paused and "· PAUSED" in text_of(status)
        calls = fake_backend.gate.calls.count("panels")
        screen._tick()  # a timer tick while paused fetches nothing
        await settle(pilot)
        assert fake_backend.gate.calls.count("panels") == calls
        await pilot.press("r")  # an explicit refresh still works
        await settle(pilot)
        assert fake_backend.gate.calls.count("panels") == calls + 1
        await pilot.press("p")
        assert not screen.paused and "PAUSED" not in text_of(status)
        for _ in range(6):
            await pilot.press("minus")
        assert screen.interval == 0.0 and "refresh off" in text_of(status)
