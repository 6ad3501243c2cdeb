"""What a published phase-1 run holds, comparable across runs and data dirs: every table of
``data/current`` (bronze, quarantine, silver, gold) as sorted rows and the KPI report, without the
values that name the run or the time (run ids, ingestion and quarantine times, generation time)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

VOLATILE_COLUMNS = {"ingested_at", "quarantined_at", "source_file"}
VOLATILE_KEYS = {"run_id", "generated_at"}


def published_outputs(data_dir: Path) -> dict[str, Any]:
    """``{"bronze/orders": [sorted rows], ..., "gold/kpi_report": {...}}`` of ``data_dir/current``."""
    current = data_dir / "current"
    assert current.is_dir(), f"nothing published in {data_dir}"
    out: dict[str, Any] = {}
    for layer in ("bronze", "quarantine", "silver", "gold"):
        for path in sorted((current / layer).glob("*.parquet")):
            table = pq.read_table(path)
            keep = [c for c in table.column_names if c not in VOLATILE_COLUMNS]
            rows = table.select(keep).to_pylist()
            out[f"{layer}/{path.stem}"] = sorted((tuple(sorted(r.items())) for r in rows), key=repr)
    report = json.loads((current / "gold" / "kpi_report.json").read_text())
    out["gold/kpi_report"] = {k: v for k, v in report.items() if k not in VOLATILE_KEYS}
    return out
