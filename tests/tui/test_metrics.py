"""Metrics screen on the fake backend: charts with axes and legends in the panel's unit, thresholds,
window keys, pause, refresh rate, alerts, the layout at 80x24 and 160x48, the empty state."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from textual.pilot import Pilot

from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle, text_of
from tests.tui.fakes import FakeBackend, FakeMetrics
from tui.app import LakehouseApp
from tui.screens.metrics import MIN_PLOT_HEIGHT, MetricsScreen
from tui.widgets import time_plot
from tui.widgets.metric_chart import MetricChart, SeriesLegend
from tui.widgets.time_plot import TimeSeriesPlot


async def open_metrics(pilot: Pilot[None]) -> MetricsScreen:
    await pilot.press("f4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MetricsScreen)
    return screen


def metrics(backend: FakeBackend) -> FakeMetrics:
    assert isinstance(backend.metrics, FakeMetrics)
    return backend.metrics


def charts(screen: MetricsScreen) -> dict[str, MetricChart]:
    return {chart.panel.panel_id: chart for chart in screen.query(MetricChart)}


def plot_text(chart: MetricChart) -> str:
    plot = chart.query_one(TimeSeriesPlot)
    assert plot.ready
    return str(plot.render())


async def test_charts_in_the_panel_unit_with_every_series(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(pilot)
        by_id = charts(screen)
        assert list(by_id) == ["cpu", "memory", "rows", "latency", "freshness"]
        memory = by_id["memory"]
        assert text_of(memory.query_one(".metric-value")) == "894.7 MiB"
        assert memory.border_subtitle == "warn 3.7 GiB · crit 7.5 GiB"
        assert memory.query_one(SeriesLegend).plain == "━ embedded 894.7 MiB"
        # the value axis reaches the warning level, in binary units; the time axis ends at "now"
        memory_plot = plot_text(memory)
        assert "4 GiB" in memory_plot and "2 GiB" in memory_plot and "now" in memory_plot
        assert "-10m" in memory_plot and "e+09" not in memory_plot
        spec = memory.query_one(TimeSeriesPlot).spec
        assert spec is not None and spec.high >= 4e9 and spec.thresholds[0][0] == 4e9
        assert spec.window_s == 900 and spec.lines[0].xs[-1] == 0.0 and spec.lines[0].xs[0] >= -900
        # counts as counts, every series of the panel in the legend
        assert text_of(by_id["rows"].query_one(".metric-value")) == "max 20,000 rows"
        assert by_id["rows"].query_one(SeriesLegend).plain.splitlines() == [
            "━ bronze 20,000 rows",
            "━ silver 15,000 rows",
            "━ gold 5,000 rows",
            "━ quarantine 500 rows",
        ]
        assert len(by_id["rows"].query_one(TimeSeriesPlot).spec.lines) == 4  # type: ignore[union-attr]
        # durations as durations, thresholds in the panel's unit
        assert by_id["freshness"].border_subtitle == "warn 1d · crit 7d"
        assert "gold.daily_sales 1d06h" in by_id["freshness"].query_one(SeriesLegend).plain
        assert "24h" in plot_text(by_id["freshness"]) or "1d" in plot_text(by_id["freshness"])
        assert by_id["latency"].border_subtitle == "warn 500 ms · crit 2.0 s"
        assert text_of(by_id["latency"].query_one(".metric-value")) == "613 ms"
        # colour by the worst last value against the thresholds
        assert by_id["cpu"].has_class("critical") and not by_id["cpu"].has_class("warn")
        assert by_id["latency"].has_class("warn") and not by_id["latency"].has_class("critical")
        assert not memory.has_class("warn") and not memory.has_class("critical")
        assert cells(screen.query_one("#alerts")) == [
            ["HighCpuUsage", "firing", "critical", "91.5 %", "90 %", "cpu above 90% for 1m"],
            ["HighMemoryUsage", "ok", "warning", "894.4 MiB", "3.7 GiB", "894.4 MiB <= 3.7 GiB"],
            ["SlowQueries", "pending", "warning", "613 ms", "500 ms", "p95 query latency above 500 ms"],
            ["PhaseFailed", "ok", "critical", "0", "1", "no failed phase"],
        ]
        status = text_of(screen.query_one("#metrics-status"))
        assert status == "window 15m · PAUSED (p resumes, every 5s) · 1 firing, 1 pending"


async def test_plots_are_built_off_the_ui_thread(
    fake_backend: FakeBackend, settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real_build = time_plot.build

    def build(*args: object) -> str:
        threads.append(threading.current_thread())
        return real_build(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(time_plot, "build", build)
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(pilot)
        assert len(threads) >= 5 and threading.main_thread() not in threads
        built = len(threads)
        await pilot.press("r")  # the same data at the same size: nothing rebuilt
        await settle(pilot)
        assert len(threads) == built
        assert all(chart.query_one(TimeSeriesPlot).ready for chart in charts(screen).values())


@pytest.mark.parametrize(("size", "columns"), [((80, 24), 2), ((160, 48), 3)])
async def test_layout_keeps_charts_readable(
    fake_backend: FakeBackend, settings: LakehouseSettings, size: tuple[int, int], columns: int
) -> None:
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=size) as pilot:
        screen = await open_metrics(pilot)
        by_id = charts(screen)
        plots = [chart.query_one(TimeSeriesPlot) for chart in by_id.values()]
        assert all(plot.size.height >= MIN_PLOT_HEIGHT for plot in plots)
        assert len({chart.region.x for chart in by_id.values()}) == columns
        first = by_id["cpu"]
        assert first.region.y < size[1] - 1 and first.region.bottom <= size[1] - 1  # whole, above the footer
        assert "now" in plot_text(first) and "%" in plot_text(first)


async def test_empty_state(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    metrics(fake_backend).empty = True
    app = LakehouseApp(fake_backend, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_metrics(pilot)
        for chart in charts(screen).values():
            assert text_of(chart.query_one(".metric-value")) == "no data"
            assert str(chart.query_one(TimeSeriesPlot).render()) == "no data in the last 15m"
            assert chart.query_one(SeriesLegend).plain == ""
        assert cells(screen.query_one("#alerts")) == [
            ["HighMemoryUsage", "ok", "warning", "-", "3.7 GiB", "no memory samples yet"]
        ]
        assert text_of(screen.query_one("#metrics-status")).endswith("· alerts ok")


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
        await pilot.press("3")
        await settle(pilot)
        assert text_of(screen.query_one("#metrics-status")).startswith("window 1h ·")
        spec = charts(screen)["cpu"].query_one(TimeSeriesPlot).spec
        assert spec is not None and spec.window_s == 3600
        assert "-45m" in plot_text(charts(screen)["cpu"])


async def test_one_notion_of_paused(fake_backend: FakeBackend, settings: LakehouseSettings) -> None:
    """Paused means no timer; +/- only change the interval; r and the window keys fetch either way."""
    app = LakehouseApp(fake_backend, settings)  # metrics_refresh_seconds=0: start paused
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(pilot)
        status = screen.query_one("#metrics-status")
        assert screen.paused and screen._timer is None and "PAUSED (p resumes, every 5s)" in text_of(status)
        calls = fake_backend.gate.calls.count("panels")
        await pilot.press("p")  # resume: a timer and an immediate refresh
        await settle(pilot)
        assert not screen.paused and screen._timer is not None
        assert "live, every 5s" in text_of(status) and "PAUSED" not in text_of(status)
        assert fake_backend.gate.calls.count("panels") == calls + 1
        await pilot.press("plus", "plus", "plus")
        assert screen.interval == 1.0 and "live, every 1s" in text_of(status)
        await pilot.press("minus")
        assert screen.interval == 2.0
        for _ in range(8):
            await pilot.press("minus")
        assert screen.interval == 60.0 and not screen.paused  # slower never means off
        await pilot.press("p")
        assert screen.paused and screen._timer is None
        assert "PAUSED (p resumes, every 60s)" in text_of(status)
        calls = fake_backend.gate.calls.count("panels")
        await pilot.press("minus", "plus")  # the rate changes while paused; still paused
        assert screen.paused and screen._timer is None and screen.interval == 30.0
        await pilot.press("r")  # an explicit refresh still works
        await settle(pilot)
        assert fake_backend.gate.calls.count("panels") == calls + 1
