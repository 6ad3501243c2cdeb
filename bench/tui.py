"""TUI benchmarks (a script, not a test): first paint, event-loop lag during a phase, first page of 1M rows.

    python bench/tui.py [--orders 100000] [--repeat 5] [--gap-runs 3] [--skip-embedded]
                         [--only paint|gap|page]

Prints, in one run:
  1. time to first paint of lakehouse-tui vs a trivial Textual app, each in a fresh process
     (target: ratio <= 1.5x). Main figure: the real entry path (tui.cli, embedded backend, an existing
     data dir; the backend is built in a worker after the first frame), the same App with a fake-backend
     factory, and for reference LakehouseApp(backend, settings) (Overview built before the first frame);
  2. the longest frame gap (event-loop lag seen by a 10 ms timer) while phase 1 runs, on the fake
     backend (1M orders of progress events, in a thread) and on the embedded backend (its default: a
     child process); the worst of --gap-runs runs counts (target <= 50 ms). Baseline in the same
     process: a bare asyncio loop with the same 10 ms timer (no Textual) beside the same phase run;
  3. time from the run key to the first painted page of a 1M-row result (target <= 0.3 s; the statement
     runs once, its first page comes from the engine's cursor), and the RSS of that TUI process
     (psutil, measured in it) once the grid shows the result; each engine in a fresh process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# this script is bench/tui.py: drop bench/ from the path so ``import tui`` finds the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZE = (130, 40)
TARGET_PAINT_RATIO = 1.5
TARGET_GAP_MS = 50.0
TARGET_FIRST_PAGE_S = 0.3
FAKE_PHASE = {"orders": 1_000_000, "chunk": 1_000, "delay_s": 0.001}


def _gap_tui() -> Any:
    from lakehouse_core.settings import TuiSettings

    return TuiSettings(
        refresh_seconds=0, metrics_refresh_seconds=0, display_cap=10_000, fetch_limit=1_000_000
    )


# ------------------------------------------------------------------ 1. first paint (child processes)
def child(variant: str, data_dir: str) -> None:
    """Run one app headless; print READY when the first frame is displayed, then exit."""
    from textual.app import App, ComposeResult

    if variant == "trivial":
        from textual.widgets import Footer, Header, Label

        class Trivial(App[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield Label("hello")
                yield Footer()

            def on_ready(self) -> None:
                print(f"READY {time.perf_counter() - started:.6f}", flush=True)
                self.exit()

        started = time.perf_counter()
        Trivial().run(headless=True, size=SIZE)
        return

    if variant == "tui-cli":  # the real entry path: tui.cli builds the App, the backend comes after paint
        cli_child(data_dir)
        return
    if variant == "tui-fake":  # the same paint-first App, its factory returning the fake backend
        cli_child(data_dir, fake=True)
        return

    # "tui-direct": LakehouseApp(backend, settings), the Overview is built before the first frame
    from lakehouse_core.settings import TuiSettings, load_settings
    from tests.tui.fakes import make_fake_backend
    from tui.app import LakehouseApp

    settings = load_settings(mode="embedded", data_dir=Path(data_dir), tui=TuiSettings(refresh_seconds=0))
    backend: Any = make_fake_backend()

    class Timed(LakehouseApp):
        def on_ready(self) -> None:
            print(f"READY {time.perf_counter() - started:.6f}", flush=True)
            self.exit()

    app = Timed(backend, settings)
    started = time.perf_counter()
    app.run(headless=True, size=SIZE)


def cli_child(data_dir: str, *, fake: bool = False) -> None:
    """``lakehouse-tui --mode embedded --data-dir DIR`` headless: READY at the first frame, LOADED at the
    Overview (backend built), FAILED on a startup error. ``fake``: the factory returns the fake backend."""
    import tui.app
    from tui import cli

    base = tui.app.LakehouseApp

    class Timed(base):  # type: ignore[valid-type,misc]
        def on_ready(self) -> None:
            # Textual also calls LakehouseApp.on_ready (handlers run up the MRO): it starts the factory
            print(f"READY {time.perf_counter() - started:.6f}", flush=True)
            self.set_interval(0.005, self._poll)

        def _poll(self) -> None:
            if self.startup_error is not None:
                print(f"FAILED {self.startup_error!r}", flush=True)
                self.exit()
            elif self.ready and self.current_mode == "overview" and self.screen.is_mounted:
                print(f"LOADED {time.perf_counter() - started:.6f}", flush=True)
                self.exit()

    tui.app.LakehouseApp = Timed  # type: ignore[misc]  # cli.make_app looks it up at call time
    args = cli.parse_args(["--mode", "embedded", "--data-dir", data_dir])
    app = cli.make_app(args)
    if fake:

        def fake_factory() -> Any:
            from lakehouse_core.settings import TuiSettings, load_settings
            from tests.tui.fakes import make_fake_backend

            tui_settings = TuiSettings(refresh_seconds=0)
            return make_fake_backend(), load_settings(
                mode="embedded", data_dir=Path(data_dir), tui=tui_settings
            )

        app.factory = fake_factory
    started = time.perf_counter()
    app.run(headless=True, size=SIZE)


def first_paint(variant: str, repeat: int, data_dir: str) -> tuple[float, float, float | None]:
    """Medians (s) of: spawn -> first displayed frame, App.run() -> first displayed frame, and (tui-cli
    only) spawn -> Overview shown with the backend built."""
    times = []
    in_app = []
    loaded = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", variant, "--data-dir", data_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        if variant in ("tui-cli", "tui-fake"):
            second = proc.stdout.readline()
            if "LOADED" not in second:
                proc.wait(timeout=60)
                raise RuntimeError(
                    f"{variant} did not load: {second} {proc.stderr.read() if proc.stderr else ''}"
                )
            loaded.append(time.perf_counter() - start)
        proc.wait(timeout=60)
        if "READY" not in line:
            raise RuntimeError(f"{variant} did not start: {proc.stderr.read() if proc.stderr else ''}")
        times.append(elapsed)
        in_app.append(float(line.split()[1]))
    return statistics.median(times), statistics.median(in_app), statistics.median(loaded) if loaded else None


def first_paints(variants: dict[str, str], repeat: int) -> dict[str, tuple[float, float, float | None]]:
    """``first_paint`` medians per variant (name -> data dir), the starts interleaved (trivial, real,
    fake, ... ``repeat`` times) so that a slow moment of the machine hits every variant alike."""
    samples: dict[str, tuple[list[float], list[float], list[float]]] = {v: ([], [], []) for v in variants}
    for _ in range(repeat):
        for variant, data_dir in variants.items():
            total, in_app, loaded = first_paint(variant, 1, data_dir)
            samples[variant][0].append(total)
            samples[variant][1].append(in_app)
            if loaded is not None:
                samples[variant][2].append(loaded)
    return {
        v: (statistics.median(t), statistics.median(a), statistics.median(lo) if lo else None)
        for v, (t, a, lo) in samples.items()
    }


# ------------------------------------------------------------------ 2 + 3. in-process measurements
class LagProbe:
    """A 10 ms interval timer on the app's event loop; records how late each tick is."""

    def __init__(self, app: Any, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.worst_ms = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer = app.set_interval(interval_s, self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.ticks += 1
        self.worst_ms = max(self.worst_ms, (now - self._last - self.interval_s) * 1000)
        self._last = now

    def reset(self) -> None:
        self.worst_ms = 0.0
        self._last = time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()


async def _until(pilot: Any, predicate: Callable[[], bool], timeout_s: float, *, idle: bool = True) -> None:
    """Poll ``predicate`` every 5 ms; ``idle`` also waits for the screen's queues (Pilot.pause)."""
    deadline = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached")
        if idle:
            await pilot.pause(0.005)
        else:
            await asyncio.sleep(0.005)


async def phase_gap(backend: Any, settings: Any) -> tuple[float, float]:
    """Run phase 1 through the UI (key 1, confirm y); return (worst event-loop lag in ms, phase seconds)."""
    from tui.app import LakehouseApp
    from tui.messages import PhaseFinished
    from tui.screens.modals import ConfirmPhaseModal

    finished: list[PhaseFinished] = []

    def hook(message: Any) -> None:
        if isinstance(message, PhaseFinished):
            finished.append(message)

    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("1")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmPhaseModal), 60)
        started = time.perf_counter()
        probe = LagProbe(app)
        await pilot.press("y")
        await _until(pilot, lambda: bool(finished), 3600)
        seconds = time.perf_counter() - started
        probe.stop()
        if finished[0].error:
            raise RuntimeError(f"phase 1 failed: {finished[0].error}")
        return probe.worst_ms, seconds


async def bare_loop_gap(settings: Any) -> tuple[float, float]:
    """Baseline: a 10 ms asyncio timer, no Textual, while the same phase 1 runs in a thread that calls the
    runner (so in its child process by default); (worst lag in ms, phase seconds)."""
    from lakehouse_core.backends import load_backend

    backend = load_backend(settings)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    worst = 0.0
    started = time.perf_counter()
    future = loop.run_in_executor(None, backend.phases.run, 1)
    future.add_done_callback(lambda _: done.set())
    last = time.perf_counter()
    while not done.is_set():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        worst = max(worst, (now - last - 0.01) * 1000)
        last = now
    result = future.result()
    if not result.ok:
        raise RuntimeError(f"phase 1 failed: {result.error}")
    return worst, time.perf_counter() - started


def gap_child(variant: str, data_dir: Path, orders: int) -> None:
    """One frame-gap run in this fresh process (a user starting lakehouse-tui, then phase 1); prints
    ``GAP <worst lag ms> <phase seconds>``."""
    from lakehouse_core.settings import load_settings

    settings = load_settings(mode="embedded", data_dir=data_dir, orders=orders, tui=_gap_tui())
    if variant == "gap-fake":
        from tests.tui.fakes import make_fake_backend

        gap, seconds = run_async(lambda: phase_gap(make_fake_backend(**FAKE_PHASE), settings))
    elif variant == "gap-embedded":
        from lakehouse_core.backends import load_backend

        gap, seconds = run_async(lambda: phase_gap(load_backend(settings), settings))
    else:
        gap, seconds = run_async(lambda: bare_loop_gap(settings))
    print(f"GAP {gap:.3f} {seconds:.3f}", flush=True)


def report_gaps(label: str, runs: list[tuple[float, float]]) -> float:
    """Print one backend's line (worst gap, verdict, every run); return the worst gap (ms)."""
    worst = max(g for g, _ in runs)
    print(
        f"   {label}, {runs[0][1]:.1f} s): {worst:6.1f} ms  target <= {TARGET_GAP_MS:.0f} ms  "
        f"{verdict(worst <= TARGET_GAP_MS)}   runs: {', '.join(f'{g:.1f}' for g, _ in runs)} ms"
    )
    return worst


def gap_runs(variant: str, runs: int, tmp: Path, orders: int) -> list[tuple[float, float]]:
    """``runs`` fresh processes of ``gap_child``; [(worst lag ms, phase seconds)]."""
    out = []
    for i in range(runs):
        line = child_line(variant, tmp / f"{variant}-{i}", "GAP ", "--orders", str(orders))
        out.append((float(line.split()[1]), float(line.split()[2])))
    return out


class TimedEngine:
    """Wraps a SqlEngine and records when the first rows left the engine: its first page, else its return."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.name = engine.name
        self.supports_cancel = engine.supports_cancel
        self.first: list[tuple[int, float]] = []  # (rows, perf_counter when handed over)
        self.executions = 0

    def execute(self, sql: str, **kwargs: Any) -> Any:
        self.executions += 1
        on_first_page = kwargs.get("on_first_page")
        if on_first_page is not None:

            def timed(first: Any) -> None:
                self.first.append((first.row_count, time.perf_counter()))
                on_first_page(first)

            kwargs["on_first_page"] = timed
        result = self._engine.execute(sql, **kwargs)
        if not self.first:
            self.first.append((result.row_count, time.perf_counter()))
        return result

    def cancel(self) -> None:
        self._engine.cancel()


async def first_page(backend: Any, settings: Any, sql: str) -> dict[str, float]:
    """Run ``sql`` with ctrl+r. Seconds from the key to: the first painted row (``page``), the engine's
    first rows (``engine``), the full result painted (``full``); ``lag`` the worst event-loop lag (ms)
    meanwhile; the process RSS (MB) before the key and once the grid shows the result."""
    import dataclasses

    import psutil
    from textual.widgets import TextArea

    from tui.app import LakehouseApp
    from tui.screens.sql import SqlScreen
    from tui.widgets.results_table import ResultsTable

    engine = TimedEngine(backend.sql)
    app = LakehouseApp(dataclasses.replace(backend, sql=engine), settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SqlScreen)
        screen.query_one(TextArea).text = sql
        results = screen.query_one(ResultsTable)
        painted: dict[int, float] = {}  # id of each grid mounted for a result -> when it painted a row
        show_result = results.show_result

        def spy_show(result: Any, display_cap: int, **kwargs: Any) -> None:
            show_result(result, display_cap, **kwargs)
            grid = results.grid
            render_line = grid.render_line

            def spy(y: int) -> Any:  # the grid paints a line while it holds rows: they are on screen
                if id(grid) not in painted and grid.row_count:
                    painted[id(grid)] = time.perf_counter()
                return render_line(y)

            grid.render_line = spy  # type: ignore[method-assign]

        results.show_result = spy_show  # type: ignore[method-assign]
        probe = LagProbe(app)  # before the key: Pilot.press returns only once the process is idle
        rss_before = psutil.Process().memory_info().rss
        start = time.perf_counter()
        await pilot.press("ctrl+r")
        await _until(pilot, lambda: bool(painted), 600, idle=False)
        await _until(pilot, lambda: not screen.running and id(results.grid) in painted, 600, idle=False)
        await asyncio.sleep(0.05)
        probe.stop()
        if screen.result is None:
            raise RuntimeError(f"the query failed: {sql}")
        rss = psutil.Process().memory_info().rss  # the grid shows the result, the screen holds it
        return {
            "rss_mb": rss / 2**20,
            "rss_before_mb": rss_before / 2**20,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "page": min(painted.values()) - start,
            "engine": engine.first[0][1] - start,
            "first_rows": float(engine.first[0][0]),
            "executions": float(engine.executions),
            "full": painted[id(results.grid)] - start,
            "rows": float(screen.result.row_count),
            "lag": probe.worst_ms,
        }


PAGE_SQL = {
    "page-fake": "SELECT * FROM range(1000000)",
    "page-embedded": "SELECT range AS i, 'row ' || range AS label FROM range(1000000)",
    "page-lakehouse": "SELECT * FROM bronze.orders",
}


def page_child(variant: str, data_dir: Path) -> None:
    """One first-page run in this fresh process; prints ``PAGE <json of first_page's figures>``."""
    from lakehouse_core.settings import load_settings

    settings = load_settings(mode="embedded", data_dir=data_dir, tui=_gap_tui())
    if variant == "page-fake":
        from tests.tui.fakes import make_fake_backend

        backend: Any = make_fake_backend()
    else:
        from lakehouse_core.backends import load_backend

        backend = load_backend(settings)
    figures = run_async(lambda: first_page(backend, settings, PAGE_SQL[variant]))
    print(f"PAGE {json.dumps(figures)}", flush=True)


def page_run(variant: str, tmp: Path) -> dict[str, float]:
    """``page_child`` in a fresh process; its figures."""
    line = child_line(variant, tmp / variant, "PAGE ")
    figures: dict[str, float] = json.loads(line[len("PAGE ") :])
    return figures


def child_line(
    variant: str, data_dir: Path, prefix: str, *args: str, script: Path | None = None, src: Path | None = None
) -> str:
    """Run ``--child variant`` in a fresh process; its output line starting with ``prefix``.

    ``script``/``src``: another revision's bench script, run with that checkout first on the path.
    """
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    proc = subprocess.run(
        [sys.executable, str(script or __file__), "--child", variant, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        cwd=src or ROOT,
        env=env,
        timeout=3600,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith(prefix)), None)
    if line is None:
        raise RuntimeError(f"{variant} run failed: {proc.stderr[-2000:]}")
    return line


def build_lakehouse(data_dir: Path, orders: int) -> None:
    """Phases 1 and 2 on ``orders`` generated orders, with the CLI (once per bench run)."""
    for command in (["generate", "--orders", str(orders)], ["phase", "1"], ["phase", "2"]):
        subprocess.run(
            [sys.executable, "-m", "lakehouse_core.cli", "--data-dir", str(data_dir), *command],
            check=True, capture_output=True, cwd=ROOT, timeout=3600,
            env={**os.environ, "LAKEHOUSE_ORDERS": str(orders)},
        )


def run_async(factory: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(factory())  # type: ignore[arg-type]


def verdict(ok: bool) -> str:
    return "OK " if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000, help="orders for the embedded phase 1 run")
    parser.add_argument("--repeat", type=int, default=7, help="process starts per variant (median)")
    parser.add_argument("--gap-runs", type=int, default=3, help="phase runs per backend for the frame gap")
    parser.add_argument("--skip-embedded", action="store_true", help="fake backend only")
    parser.add_argument("--only", choices=("paint", "gap", "page"), help="run one section")
    parser.add_argument(
        "--lakehouse-orders", type=int, default=1_000_000,
        help="orders of the lakehouse whose bronze.orders the page section reads (0: skip)",
    )
    parser.add_argument(
        "--baseline-src", type=Path,
        help="a checkout of an earlier revision: its bench/tui.py child runs the same bronze.orders "
        "query on the same lakehouse, in this run (its PAGE_SQL needs the page-lakehouse entry)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.child.startswith("gap-"):
        gap_child(args.child, Path(args.data_dir), args.orders)
        return
    if args.child and args.child.startswith("page-"):
        page_child(args.child, Path(args.data_dir))
        return
    if args.child:
        child(args.child, args.data_dir)
        return

    from lakehouse_core.settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    load = os.getloadavg()[0]
    print(f"lakehouse-tui TUI bench (data under {tmp}; load average {load:.1f} on {os.cpu_count()} cores)")

    if args.only in (None, "paint"):
        paint_section(args, tmp)
    if args.only == "paint":
        return

    # 2. frame gap while a phase runs
    embedded = not args.skip_embedded
    emb_settings = load_settings(
        mode="embedded", data_dir=tmp / "embedded", orders=args.orders, tui=_gap_tui()
    )
    if args.only in (None, "gap"):
        print(
            f"\n2. longest frame gap while phase 1 runs (event-loop lag seen by a 10 ms timer; each run a "
            f"fresh process: start the app, press 1, confirm; worst of {args.gap_runs} runs)"
        )
        fake_label = "fake backend, 1,000,000 orders (3 tasks x 1,000 progress events in a thread"
        report_gaps(fake_label, gap_runs("gap-fake", args.gap_runs, tmp, args.orders))
        if embedded:
            label = f"embedded backend, {args.orders:,} orders (phase 1 in a child process at nice "
            worst = report_gaps(
                label + str(emb_settings.phase_nice),
                gap_runs("gap-embedded", args.gap_runs, tmp, args.orders),
            )
            base = gap_runs("gap-bare", args.gap_runs, tmp, args.orders)
            base_worst = max(g for g, _ in base)
            print(
                f"   baseline, a bare asyncio loop (no Textual) beside the same phase: {base_worst:.1f} ms "
                f"(runs: {', '.join(f'{g:.1f}' for g, _ in base)} ms); ratio TUI/bare "
                f"{worst / max(base_worst, 0.1):.1f}x"
            )
    if args.only == "gap":
        return

    # 3. first page of a 1M-row result, each in a fresh process (its RSS is the TUI's own)
    print(
        "\n3. first page of a 1,000,000-row result (fetch limit 1,000,000, display cap 10,000; each run a "
        "fresh process: start the app, F3, ctrl+r)"
    )
    variants = [("fake engine", "page-fake")]
    if embedded:
        variants.append(("embedded duckdb", "page-embedded"))
    if embedded and args.lakehouse_orders:
        lakehouse = tmp / "page-lakehouse"
        build_lakehouse(lakehouse, args.lakehouse_orders)
        label = f"embedded duckdb, bronze.orders of {args.lakehouse_orders:,} orders"
        variants.append((label, "page-lakehouse"))
    baseline: dict[str, float] | None = None
    for label, variant in variants:
        t = page_run(variant, tmp)
        baseline = None
        if variant != "page-fake" and args.baseline_src:
            src = args.baseline_src.resolve()
            line = child_line(variant, tmp / variant, "PAGE ", script=src / "bench" / "tui.py", src=src)
            baseline = json.loads(line[len("PAGE ") :])
        print(
            f"   {label}: key -> first page {t['page']:.3f} s  target <= {TARGET_FIRST_PAGE_S} s  "
            f"{verdict(t['page'] <= TARGET_FIRST_PAGE_S)}"
        )
        print(
            f"      = engine's first {t['first_rows']:,.0f} rows {t['engine']:.3f} s + UI "
            f"{t['page'] - t['engine']:.3f} s; full result ({t['rows']:,.0f} rows, "
            f"{t['executions']:.0f} execution(s)) shown after {t['full']:.3f} s; worst event-loop lag "
            f"during the run {t['lag']:.0f} ms"
        )
        print(
            f"      TUI process RSS after showing the result: {t['rss_mb']:,.0f} MB "
            f"(before the query {t['rss_before_mb']:,.0f} MB, +{t['rss_mb'] - t['rss_before_mb']:,.0f} MB; "
            f"peak {t['peak_mb']:,.0f} MB)"
        )
        if baseline is not None:
            ratio = t["rss_mb"] / baseline["rss_mb"]
            print(
                f"      baseline {args.baseline_src}, same query and data: "
                f"first page {baseline['page']:.3f} s, "
                f"full result after {baseline['full']:.3f} s ({baseline.get('executions', 0):.0f} "
                f"execution(s)), RSS {baseline['rss_mb']:,.0f} MB (before the query "
                f"{baseline['rss_before_mb']:,.0f} MB); RSS ratio now/baseline {ratio:.2f}  "
                f"target <= 0.5  {verdict(ratio <= 0.5)}"
            )


def paint_section(args: argparse.Namespace, tmp: Path) -> None:
    """1. time to first paint, real entry path and fake backend, against a trivial app."""
    cli_dir = str(tmp / "cli")
    variants = {
        "trivial": str(tmp / "paint"),
        "tui-fake": str(tmp / "paint"),
        "tui-direct": str(tmp / "paint"),
    }
    if not args.skip_embedded:
        first_paint("tui-cli", 1, cli_dir)  # creates the data dir (catalog, warehouse): later runs reopen it
        variants["tui-cli"] = cli_dir
    medians = first_paints(variants, args.repeat)
    trivial, trivial_app, _ = medians["trivial"]
    print(
        f"\n1. time to first paint (median of {args.repeat} fresh processes per variant, starts interleaved)"
    )
    print(f"   trivial Textual app:          process {ms(trivial)}, App.run -> first frame {ms(trivial_app)}")
    if not args.skip_embedded:
        full, full_app, loaded = medians["tui-cli"]
        print(
            f"   lakehouse-tui (real entry path: tui.cli, embedded backend, existing data dir): "
            f"process {ms(full)}, App.run -> first frame {ms(full_app)}; "
            f"Overview with the backend built {ms(loaded or 0.0)}"
        )
        ratio = full / trivial
        ok = verdict(ratio <= TARGET_PAINT_RATIO)
        print(f"   ratio, real path (whole process): {ratio:.2f}x  target <= {TARGET_PAINT_RATIO}x  {ok}")
        print(f"      (App.run -> first frame alone, for reference: {full_app / trivial_app:.2f}x)")
    ui, ui_app, ui_loaded = medians["tui-fake"]
    print(
        f"   lakehouse-tui (same App, factory returning the fake backend): process {ms(ui)}, "
        f"App.run -> first frame {ms(ui_app)}; Overview shown {ms(ui_loaded or 0.0)}"
    )
    ok = verdict(ui / trivial <= TARGET_PAINT_RATIO)
    print(
        f"   ratio, fake backend (whole process): {ui / trivial:.2f}x  target <= {TARGET_PAINT_RATIO}x  {ok}"
    )
    print(f"      (App.run -> first frame alone, for reference: {ui_app / trivial_app:.2f}x)")
    direct, direct_app, _ = medians["tui-direct"]
    print(
        f"   for reference, LakehouseApp(backend, settings) (tests' constructor: settings imported and the "
        f"Overview built before the first frame): process {ms(direct)} ({direct / trivial:.2f}x), "
        f"App.run -> first frame {ms(direct_app)} ({direct_app / trivial_app:.2f}x)"
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:5.0f} ms"


if __name__ == "__main__":
    main()
