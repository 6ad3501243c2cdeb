"""The platform's six phase-1 tasks (raw CSV -> bronze -> quality -> silver -> gold -> KPIs).

Each is a plain function ``(paths, *, ..., progress, cancel) -> TaskResult`` emitting
``ProgressEvent(phase=1, task=<name>)``; every transform is DuckDB SQL from ``pipeline/sql``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from lakehouse_core.models import TaskResult
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline._duck import task_context
from lakehouse_core.pipeline.bronze import ingest_to_bronze, reason_code, validate_data_quality
from lakehouse_core.pipeline.generate import DEFAULT_ANCHOR, generate_raw
from lakehouse_core.pipeline.raw import describe_files, existing_raw, will_generate
from lakehouse_core.pipeline.silver_gold import aggregate_to_gold, generate_report, transform_to_silver
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import GenerateMode
from lakehouse_core.units import progress_note

__all__ = [
    "PHASE1_TASKS", "aggregate_to_gold", "generate_report", "generate_sample_data", "ingest_to_bronze",
    "reason_code", "transform_to_silver", "validate_data_quality",
]


def generate_sample_data(
    paths: DataPaths,
    *,
    orders: int = 5000,
    seed: int = 42,
    defect_rate: float = 0.0,
    anchor_date: date = DEFAULT_ANCHOR,
    generate: GenerateMode = "if-empty",
    run_id: str = "",
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Write data/raw/{customers,products,orders}.csv (deterministic for a seed) when ``generate`` says.

    ``generate``: "if-empty" generates only when raw/ holds no raw CSV, "always" replaces the raw CSVs
    (every ``raw/<table>*.csv``), "never" does not generate. When it does not, the result reports the
    raw files phase 1 will read (``outputs["generated"]`` False, ``outputs["files"]``).

    ``outputs["defects"]`` holds the exact injected defect counts per table and reason code
    (e.g. ``{"orders": {"null_key": 17, "negative_amount": 17, ...}}``); ``outputs["sizes"]`` the rows.

    Raises:
        ValueError: orders < 1 or defect_rate outside 0..1.
        DataError: the raw CSVs could not be written (the previous files are left as they were).
        CancelledError: ``cancel`` was triggered (between chunks of 1M orders).
    """
    with task_context("generate_sample_data", paths, progress, cancel, total_steps=orders) as ctx:
        paths.ensure()
        existing = [f for fs in existing_raw(paths).values() for f in fs]
        if not will_generate(paths, generate):
            return ctx.result(f"using {len(existing)} existing raw files ({describe_files(existing)})",
                              {"generated": False, "files": [str(f) for f in existing], "run_id": run_id})

        def on_chunk(done: int, total: int) -> None:
            ctx.done = done
            rate = progress_note(done / total, time.perf_counter() - ctx.started, done, "orders")
            ctx.emit("advance", f"{done:,}/{total:,} orders · {rate}")

        summary = generate_raw(paths.raw, orders=orders, seed=seed, defect_rate=defect_rate,
                               anchor=anchor_date, on_chunk=on_chunk, check_cancel=ctx.check_cancel)
        written = {Path(p) for p in summary.files.values()}
        replaced = [f for f in existing if f not in written]
        for f in replaced:  # generation was asked for in place of the user's files: they go
            f.unlink(missing_ok=True)
        ctx.rows.update({f"raw.{t}": n for t, n in summary.rows.items()})
        defects = sum(sum(d.values()) for d in summary.defects.values())
        detail = (f"{summary.rows['orders']:,} orders, {summary.rows['customers']:,} customers, "
                  f"{summary.rows['products']:,} products (seed {seed}, {defects:,} defects)")
        if existing:
            detail += f"; replaced {len(existing)} raw files"
        return ctx.result(detail, {"defects": summary.defects, "sizes": summary.rows, "generated": True,
                                   "replaced": [str(f) for f in existing], "seed": seed, "run_id": run_id})


PHASE1_TASKS: tuple[tuple[str, str, Callable[..., TaskResult]], ...] = (
    ("generate_sample_data", "Generate customers, products and orders CSVs (when asked or raw/ is empty)",
     generate_sample_data),
    ("ingest_to_bronze", "Type raw CSVs into bronze Parquet with quality flags", ingest_to_bronze),
    ("validate_data_quality", "Quarantine flagged rows and write the quality report", validate_data_quality),
    ("transform_to_silver", "Join valid orders, customers and products into silver", transform_to_silver),
    ("aggregate_to_gold", "Build daily, customer, product and regional gold tables", aggregate_to_gold),
    ("generate_report", "Compute the KPI report (revenue, orders, AOV, customers)", generate_report),
)
"""Ordered (name, one-line description, function) of the phase-1 tasks."""
