"""Pipeline benchmark: generation, phase 1 and phase 2 against in-process-tree baselines.

Each stage runs in its own child process (spawn) so its peak RSS is its own; the baselines (a
platform-faithful pandas phase 1, a naive chunked ``table.append`` of bronze.orders) run the same way on
the same data, so the ratios compare like with like on this machine.

    python bench/pipeline.py --orders 10000000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
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


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(target: str, args: tuple[Any, ...], queue: Any, mem_limit_gb: float | None = None) -> None:
    if mem_limit_gb:  # a baseline that would exhaust the machine fails with MemoryError instead
        limit = int(mem_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        fn: Callable[..., Any] = globals()[target]
        t0 = time.perf_counter()
        extra = fn(*args)
        queue.put(("ok", time.perf_counter() - t0, _peak_rss_mb(), extra))
    except BaseException as exc:  # noqa: BLE001 - report any failure to the parent
        queue.put(("error", 0.0, _peak_rss_mb(), repr(exc)))


def run_stage(
    target: str, *args: Any, mem_limit_gb: float | None = None, allow_fail: bool = False
) -> tuple[float, float, Any]:
    """Run ``target(*args)`` in a fresh child; return (seconds, peak RSS MB, result).

    With ``allow_fail`` a failure returns (seconds until the failure, peak RSS, "FAILED: ...").
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, args, queue, mem_limit_gb))
    t0 = time.perf_counter()
    proc.start()
    status, seconds, rss, extra = queue.get()
    proc.join()
    if status != "ok":
        if allow_fail:
            return time.perf_counter() - t0, rss, f"FAILED: {extra}"
        raise RuntimeError(f"{target} failed: {extra}")
    return seconds, rss, extra


# ---------------------------------------------------------------- stages (run in children)
def _settings(data: str) -> Any:
    from lakehouse_core.settings import LakehouseSettings

    return LakehouseSettings(data_dir=Path(data), generate="never", phase_isolation="thread")


def stage_generate(data: str, orders: int) -> int:
    from lakehouse_core.paths import DataPaths
    from lakehouse_core.pipeline.tasks import generate_sample_data

    generate_sample_data(DataPaths(Path(data)).ensure(), orders=orders, seed=42)
    return orders


def stage_phase1(data: str) -> dict[str, int]:
    """Phase 1 after generation, as users run it (in this process): bronze, validate, silver, gold and
    the report in a run directory, the audits, then the publish (the switch of ``data/current``)."""
    from lakehouse_core.backends import load_backend

    result = load_backend(_settings(data)).phases.run(1)
    if not result.ok:
        raise RuntimeError(f"phase 1 failed: {result.error}")
    return dict(result.rows_per_layer)


def stage_pandas_phase1(data: str) -> str:
    from pipeline_phase1 import run_pandas_phase1

    from lakehouse_core.paths import DataPaths

    run_pandas_phase1(DataPaths(Path(data)))
    return "ok"


def stage_phase2(data: str) -> int:
    """Phase 2 as users run it: the 8 tables staged, audited and published in one catalog transaction."""
    from lakehouse_core.backends import load_backend

    result = load_backend(_settings(data)).phases.run(2)
    if not result.ok:
        raise RuntimeError(f"phase 2 failed: {result.error}")
    return len(result.tasks)


def stage_naive_append(data: str, naive_dir: str) -> int:
    from lakehouse_core.iceberg.catalog import open_embedded_catalog
    from lakehouse_core.iceberg.promote import naive_append_bronze_orders
    from lakehouse_core.paths import DataPaths

    settings = _settings(naive_dir)
    naive_append_bronze_orders(open_embedded_catalog(settings), DataPaths(Path(data)).published())
    return 1


def stage_pruning(data: str) -> dict[str, Any]:
    """The platform's partition-pruning demo: the same full-row read with and without a one-day filter."""
    from pyiceberg.expressions import EqualTo

    from lakehouse_core.iceberg.catalog import open_embedded_catalog

    table = open_embedded_catalog(_settings(data)).load_table("bronze.orders")
    full_files = len(list(table.scan().plan_files()))
    t0 = time.perf_counter()
    full_rows = table.scan().to_arrow().num_rows
    full_s = time.perf_counter() - t0
    day = table.scan(selected_fields=("order_date",), limit=1).to_arrow().column(0)[0].as_py()
    day_scan = table.scan(row_filter=EqualTo("order_date", day.isoformat()))
    day_files = len(list(day_scan.plan_files()))
    t0 = time.perf_counter()
    day_rows = table.scan(row_filter=EqualTo("order_date", day.isoformat())).to_arrow().num_rows
    day_s = time.perf_counter() - t0
    return {
        "day": day.isoformat(),
        "full_files": full_files,
        "full_rows": full_rows,
        "full_s": full_s,
        "day_files": day_files,
        "day_rows": day_rows,
        "day_s": day_s,
    }


# ---------------------------------------------------------------- report
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--workdir", help="keep data here (default: a temp dir, removed)")
    parser.add_argument(
        "--baseline-mem-gb",
        type=float,
        default=18.0,
        help="address-space cap of the pandas baseline child (it needs >22 GB at 10M orders)",
    )
    args = parser.parse_args()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    data, pandas_data, naive = work / "data", work / "pandas", work / "naive"
    try:
        print(f"orders: {args.orders:,}  workdir: {work}")
        gen_s, gen_rss, _ = run_stage("stage_generate", str(data), args.orders)
        shutil.copytree(data / "raw", pandas_data / "raw")
        p1_s, p1_rss, rows = run_stage("stage_phase1", str(data))
        pd_s, pd_rss, pd_out = run_stage(
            "stage_pandas_phase1", str(pandas_data), mem_limit_gb=args.baseline_mem_gb, allow_fail=True
        )
        pandas_failed = isinstance(pd_out, str) and pd_out.startswith("FAILED")
        p2_s, p2_rss, _ = run_stage("stage_phase2", str(data))
        nv_s, nv_rss, _ = run_stage("stage_naive_append", str(data), str(naive))
        _, _, prune = run_stage("stage_pruning", str(data))
        speedup_p1 = pd_s / p1_s
        ratio_p2 = p2_s / nv_s
        prune_x = prune["full_s"] / max(prune["day_s"], 1e-9)
        print(f"rows: {rows}")
        print(f"{'stage':<34}{'seconds':>10}{'peak RSS MB':>14}")
        for name, s, rss in [
            ("generate (numpy/pyarrow)", gen_s, gen_rss),
            ("phase 1 (DuckDB SQL)", p1_s, p1_rss),
            ("phase 1 baseline (pandas)" + (" [FAILED]" if pandas_failed else ""), pd_s, pd_rss),
            ("phase 2 (promote_all, 8 tables)", p2_s, p2_rss),
            ("phase 2 baseline (naive append)", nv_s, nv_rss),
        ]:
            print(f"{name:<34}{s:>10.2f}{rss:>14.0f}")
        print(
            f"one-day filter {prune['day']}: {prune['day_files']} of {prune['full_files']} files, "
            f"{prune['day_rows']:,} rows in {prune['day_s'] * 1000:.1f} ms; full scan {prune['full_rows']:,} "
            f"rows in {prune['full_s'] * 1000:.1f} ms"
        )
        if pandas_failed:
            print(
                f"pandas baseline did not finish: {pd_out} after {pd_s:.1f}s under a "
                f"{args.baseline_mem_gb:g} GB cap; the speed-up below is a lower bound"
            )
        checks = [
            (
                f"phase 1 speed-up vs pandas {'>= ' * pandas_failed}{speedup_p1:.1f}x (target >= 3x)",
                speedup_p1 >= 3,
            ),
            (
                f"phase 1 peak RSS {p1_rss:.0f} MB (target <= 1024 MB); pandas {pd_rss:.0f} MB "
                f"= {pd_rss / p1_rss:.1f}x",
                p1_rss <= 1024,
            ),
            (f"phase 2 / naive append {ratio_p2:.2f}x (target <= 0.5x)", ratio_p2 <= 0.5),
            (f"one-day filter files {prune['day_files']} (target 1)", prune["day_files"] == 1),
            (f"one-day filter vs full scan {prune_x:.0f}x faster (target >= 50x)", prune_x >= 50),
        ]
        for text, ok in checks:
            print(("PASS " if ok else "MISS ") + text)
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
