"""A time-series plot (textual-plotext) that is built off the UI thread and rendered from a cache.

Building a plotext figure costs tens of milliseconds; ``TimeSeriesPlot`` builds one in a thread worker
when its data, size or theme changes, and ``render`` only returns the last built text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from lakehouse_core.units import unit_of

RGB = tuple[int, int, int]
# plotext keeps module-level state while it builds: one build at a time, in any thread
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Line:
    """One series: x in seconds relative to the end of the window (<= 0), y in the panel's unit."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: RGB


@dataclass(frozen=True)
class PlotSpec:
    """Everything a build needs; equal specs give equal plots."""

    lines: tuple[Line, ...]
    window_s: float
    unit: str
    low: float
    high: float
    thresholds: tuple[tuple[float, RGB], ...] = ()
    empty_text: str = "no data"


def x_ticks(window_s: float, width: int) -> tuple[list[float], list[str]]:
    """Ticks of the time axis: ``-15m … -5m``, ``now`` at the right edge; about one per 12 columns."""
    ticks = [(v, label) for v, label in unit_of("s").ticks(0, window_s, max(2, width // 12)) if v <= window_s]
    ticks.reverse()
    return [-v for v, _ in ticks], [f"-{label}" if v else "now" for v, label in ticks]


def build(plt: Plot, spec: PlotSpec, width: int, height: int) -> str:
    """The ANSI text of ``spec`` drawn at ``width`` x ``height`` cells."""
    plt.clear_figure()
    plt.theme("clear")  # the widget's own background and foreground
    plt.plotsize(width, height)
    plt._set_size(width, height)
    plt.xaxes(True, False)
    plt.yaxes(True, False)
    for line in spec.lines:
        plt.plot(list(line.xs), list(line.ys), color=line.color, marker="braille")
    for level, color in spec.thresholds:
        if spec.low <= level <= spec.high:
            plt.hline(level, color)
    ticks = unit_of(spec.unit).ticks(spec.low, spec.high, max(2, (height - 2) // 2))
    plt.ylim(ticks[0][0], ticks[-1][0])
    plt.yticks([v for v, _ in ticks], [label for _, label in ticks])
    plt.xlim(-spec.window_s, 0)
    plt.xticks(*x_ticks(spec.window_s, width))
    return plt.build().rstrip("\n")


class TimeSeriesPlot(PlotextPlot):
    """Draws a ``PlotSpec``; shows ``spec.empty_text`` when it has no line."""

    DEFAULT_CSS = """
    TimeSeriesPlot {
        height: 1fr;
        min-height: 4;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.theme = "clear"
        self.spec: PlotSpec | None = None
        self._built: Text | None = None
        self._built_key: tuple[PlotSpec, int, int] | None = None
        self._wanted: tuple[PlotSpec, int, int] | None = None

    def draw(self, spec: PlotSpec) -> None:
        """Show ``spec`` (built in the background; the previous plot stays until then)."""
        self.spec = spec
        self._request()

    @property
    def ready(self) -> bool:
        """True when what is shown is the current spec at the current size."""
        return self._wanted is None or self._wanted == self._built_key

    def on_resize(self, _event: events.Resize) -> None:
        self._request()

    def _request(self) -> None:
        spec, (width, height) = self.spec, self.size
        if spec is None or width <= 0 or height <= 0:
            return
        self._wanted = key = (spec, width, height)
        if not spec.lines or key == self._built_key:
            self.refresh()
            return
        self.run_worker(
            partial(self._build, key), thread=True, exclusive=True, group="plot", exit_on_error=False
        )

    def _build(self, key: tuple[PlotSpec, int, int]) -> None:
        with _BUILD_LOCK:
            if get_current_worker().is_cancelled:
                return
            text = Text.from_ansi(build(self.plt, *key), no_wrap=True, end="")
        self.app.call_from_thread(self._show_built, key, text)

    def _show_built(self, key: tuple[PlotSpec, int, int], text: Text) -> None:
        self._built_key, self._built = key, text
        self.refresh()

    def render(self) -> RenderResult:
        if self.spec is not None and not self.spec.lines:
            return Text(self.spec.empty_text, style="dim", justify="center")
        return self._built or Text("")
