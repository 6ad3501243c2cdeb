"""Scale benchmark (issue 15): phases 1 and 2 at 10M orders and at N, next to a lean DuckDB reference.

For each size the raw CSVs are generated once (or reused from ``--workdir``); then, each in its own
child process (spawn, so each peak RSS is its own): phase 1 as users run it (thread isolation, so the
child's RSS is the phase's), the lean DuckDB reference on the same raw files (same SQL shape: typed
bronze with a validity flag, the silver join, the four gold aggregates and the KPIs, with DuckDB's
default memory limit and none of the project's audits, raw-text columns or quarantine), phase 2, and
the one-day query on ``bronze.orders`` (data files it reads). Not in CI: at 100M it needs ~40 GB of
disk and about a quarter of an hour of both cores.

    python bench/scale.py --orders 100000000 --workdir /tmp/scalebench
    python bench/scale.py --orders 10000000 --small 0          # one size only
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import _settings, stage_generate  # noqa: E402, F401 - bench/pipeline.py's stages (run_stage finds them here)

GB = 1024**3


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(target: str, args: tuple[Any, ...], queue: Any) -> None:
    try:
        fn: Callable[..., Any] = globals()[target]
        t0 = time.perf_counter()
        extra = fn(*args)
        queue.put(("ok", time.perf_counter() - t0, _peak_rss(), extra))
    except BaseException as exc:  # noqa: BLE001 - report any failure to the parent
        queue.put(("error", time.perf_counter() - t0, _peak_rss(), f"{type(exc).__name__}: {exc}"))


def run_stage(target: str, *args: Any) -> tuple[float, int, Any]:
    """``target(*args)`` in a fresh child: (seconds, peak RSS bytes, result or "FAILED: ...")."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, args, queue))
    proc.start()
    status, seconds, rss, extra = queue.get()
    proc.join()
    return seconds, rss, extra if status == "ok" else f"FAILED: {extra}"


# ---------------------------------------------------------------- stages (run in children)
def stage_phase(data: str, phase: int) -> dict[str, Any]:
    """One phase as users run it; its budget and each task's seconds."""
    from lakehouse_core.backends import load_backend
    from lakehouse_core.budget import phase_budget

    settings = _settings(data)
    budget = phase_budget(settings)
    result = load_backend(settings).phases.run(phase)
    if not result.ok:
        raise RuntimeError(f"phase {phase} failed: {result.error}")
    return {"budget": budget.memory, "budget_text": budget.describe(),
            "tasks": {t.name: t.seconds for t in result.tasks}}


REFERENCE = {
    "bronze": [
        """COPY (SELECT *, CASE WHEN customer_id IS NULL OR email IS NULL THEN 'invalid' ELSE 'valid'
           END AS flag FROM read_csv('{raw}/customers.csv', header = true))
           TO '{out}/customers.parquet' (FORMAT parquet)""",
        """COPY (SELECT *, CASE WHEN product_id IS NULL OR price < 0 THEN 'invalid' ELSE 'valid' END AS flag
           FROM read_csv('{raw}/products.csv', header = true))
           TO '{out}/products.parquet' (FORMAT parquet)""",
        """COPY (SELECT *, CASE WHEN order_id IS NULL OR quantity <= 0 OR total_amount < 0 THEN 'invalid'
           ELSE 'valid' END AS flag FROM read_csv('{raw}/orders.csv', header = true))
           TO '{out}/orders.parquet' (FORMAT parquet)""",
    ],
    "silver": [
        """COPY (SELECT o.*, c.customer_segment, c.city, c.state, p.product_name, p.category,
                  p.price AS unit_price, o.total_amount AS revenue
           FROM '{out}/orders.parquet' o
           JOIN '{out}/customers.parquet' c ON c.customer_id = o.customer_id AND c.flag = 'valid'
           JOIN '{out}/products.parquet' p ON p.product_id = o.product_id AND p.flag = 'valid'
           WHERE o.flag = 'valid' AND o.status <> 'cancelled') TO '{out}/silver.parquet' (FORMAT parquet)""",
    ],
    "gold": [
        """COPY (SELECT order_date, COUNT(*), SUM(revenue), COUNT(DISTINCT customer_id)
           FROM '{out}/silver.parquet' GROUP BY order_date ORDER BY 1) TO '{out}/daily.parquet'""",
        """COPY (SELECT customer_id, MIN(customer_segment), COUNT(*), SUM(revenue), MIN(order_date),
           MAX(order_date) FROM '{out}/silver.parquet' GROUP BY customer_id ORDER BY 1)
           TO '{out}/customers_gold.parquet'""",
        """COPY (SELECT product_id, MIN(product_name), COUNT(*), SUM(quantity), SUM(revenue)
           FROM '{out}/silver.parquet' GROUP BY product_id ORDER BY 1) TO '{out}/products_gold.parquet'""",
        """COPY (SELECT state, COUNT(*), SUM(revenue), COUNT(DISTINCT customer_id)
           FROM '{out}/silver.parquet' GROUP BY state ORDER BY 1) TO '{out}/regional.parquet'""",
        "SELECT SUM(revenue), COUNT(*), COUNT(DISTINCT customer_id) FROM '{out}/silver.parquet'",
    ],
}


def stage_reference(raw: str, out: str) -> dict[str, float]:
    """The lean DuckDB pipeline: DuckDB's defaults (memory limit, threads), Parquet out."""
    import duckdb

    Path(out).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"temp_directory": str(Path(out) / "tmp")})
    seconds: dict[str, float] = {}
    for stage, statements in REFERENCE.items():
        t0 = time.perf_counter()
        for sql in statements:
            con.execute(sql.format(raw=raw, out=out)).fetchall()
        seconds[stage] = time.perf_counter() - t0
    return seconds


def stage_one_day(data: str) -> dict[str, Any]:
    """The one-day query on bronze.orders: data files planned and read, rows, seconds."""
    from pyiceberg.expressions import EqualTo

    from lakehouse_core.iceberg.catalog import open_embedded_catalog

    table = open_embedded_catalog(_settings(data)).load_table("bronze.orders")
    day = table.scan(selected_fields=("order_date",), limit=1).to_arrow().column(0)[0].as_py()
    scan = table.scan(row_filter=EqualTo("order_date", day.isoformat()))
    t0 = time.perf_counter()
    rows = scan.to_arrow().num_rows
    seconds = time.perf_counter() - t0
    return {"day": day.isoformat(), "files": len(list(scan.plan_files())),
            "all_files": len(list(table.scan().plan_files())), "rows": rows, "seconds": seconds}


# ---------------------------------------------------------------- one size
def _size(work: Path, orders: int) -> dict[str, Any]:
    base = work / str(orders)
    data = base / "data"
    out: dict[str, Any] = {"orders": orders}
    if (data / "raw" / "orders.csv").exists():
        out["generate"] = None
        for entry in data.iterdir():  # a first, full run: no published run to be incremental on
            if entry.name != "raw":
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        print(f"[{orders:,}] reusing the raw CSVs in {data / 'raw'} (everything else removed)", flush=True)
    else:
        out["generate"] = run_stage("stage_generate", str(data), orders)
        print(f"[{orders:,}] generate {out['generate'][0]:.1f} s", flush=True)
    for name, target, args in (
        ("phase1", "stage_phase", (str(data), 1)),
        ("reference", "stage_reference", (str(data / "raw"), str(base / "reference"))),
        ("phase2", "stage_phase", (str(data), 2)),
        ("one_day", "stage_one_day", (str(data),)),
    ):
        out[name] = run_stage(target, *args)
        seconds, rss, result = out[name]
        print(f"[{orders:,}] {name} {seconds:.1f} s, peak RSS {rss / GB:.2f} GiB: {result}", flush=True)
        if name == "reference":
            shutil.rmtree(base / "reference", ignore_errors=True)  # disk: it is only timed
    return out


def _failed(result: tuple[float, int, Any]) -> bool:
    return isinstance(result[2], str) and result[2].startswith("FAILED")


def report(sizes: list[dict[str, Any]]) -> None:
    print(f"\n{'orders':>12} {'stage':<22}{'seconds':>9}{'peak RSS':>11}  notes")
    for s in sizes:
        for name in ("generate", "phase1", "reference", "phase2", "one_day"):
            r = s.get(name)
            if r is None:
                continue
            note = ""
            if _failed(r):
                note = r[2]
            elif name in ("phase1", "phase2"):
                note = f"budget {r[2]['budget'] / GB:.2f} GiB; " + ", ".join(
                    f"{k} {v:.1f}" for k, v in r[2]["tasks"].items() if v >= 0.5)
            elif name == "reference":
                note = ", ".join(f"{k} {v:.1f}" for k, v in r[2].items())
            elif name == "one_day":
                note = f"{r[2]['files']} of {r[2]['all_files']} files, {r[2]['rows']:,} rows"
            print(f"{s['orders']:>12,} {name:<22}{r[0]:>9.1f}{r[1] / GB:>10.2f}G  {note}")
    big, small = sizes[-1], sizes[0]
    checks: list[tuple[str, bool]] = []
    if not _failed(big["phase1"]) and not _failed(big["reference"]):
        ratio = big["phase1"][0] / big["reference"][0]
        checks.append((f"phase 1 at {big['orders']:,} / reference = {ratio:.2f} (target <= 1.2)",
                       ratio <= 1.2))
    if len(sizes) > 1:
        for phase in ("phase1", "phase2"):
            if not _failed(big[phase]) and not _failed(small[phase]):
                growth = big[phase][0] / small[phase][0]
                factor = big["orders"] / small["orders"]
                checks.append((f"{phase} {big['orders']:,} / {small['orders']:,} = {growth:.1f}x "
                               f"(target <= {1.2 * factor:g}x)", growth <= 1.2 * factor))
    for phase in ("phase1", "phase2"):
        r = big[phase]
        if not _failed(r):
            ok = r[1] <= r[2]["budget"] and r[1] <= 4 * GB
            checks.append((f"{phase} peak RSS {r[1] / GB:.2f} GiB vs budget {r[2]['budget'] / GB:.2f} GiB "
                           "(target: within it and <= 4 GiB)", ok))
    if not _failed(big["one_day"]):
        files = big["one_day"][2]["files"]
        checks.append((f"one-day query reads {files} data file(s) (target 1)", files == 1))
    for text, ok in checks:
        print(("PASS " if ok else "MISS ") + text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000_000)
    parser.add_argument("--small", type=int, default=10_000_000, help="the size to compare with; 0: none")
    parser.add_argument("--workdir",
                        help="keep data here and reuse its raw CSVs (default: a temp dir, removed)")
    args = parser.parse_args()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="lakehouse-scale-"))
    load = os.getloadavg()
    print(f"orders: {args.orders:,} (and {args.small:,})  workdir: {work}  cores: {os.cpu_count()}  "
          f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    try:
        sizes = [_size(work, n) for n in ((args.small,) if args.small else ()) + (args.orders,)]
        report(sizes)
        end = os.getloadavg()
        print(f"load average at the end: {end[0]:.1f} {end[1]:.1f} {end[2]:.1f}")
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
