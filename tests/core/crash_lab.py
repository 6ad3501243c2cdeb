"""A lakehouse with an old and a new state for the crash-safety tests, and what readers see of it.

The states are built once in one fixed data directory (the SQLite catalog and the Iceberg metadata
hold absolute paths) and copied back into it for each case.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.models import TableRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import table_rows
from lakehouse_core.publish import current_run, phase1_outputs
from lakehouse_core.runlog import RunManifests
from lakehouse_core.settings import LakehouseSettings
from tests.conftest import embedded_settings

OLD_ORDERS, NEW_ORDERS = 1000, 1500
ROOT = str(Path(__file__).resolve().parents[2])
ICEBERG_TABLES = (
    "bronze.customers",
    "bronze.products",
    "bronze.orders",
    "silver.orders_enriched",
    "gold.daily_sales",
    "gold.customer_metrics",
    "gold.product_performance",
    "gold.regional_sales",
)


def settings_for(data: Path, orders: int, **overrides: object) -> LakehouseSettings:
    return embedded_settings(
        data, orders=orders, defect_rate=0.02, phase_isolation="thread", generate="always", **overrides
    )


@dataclass(frozen=True)
class Seen:
    """What readers see: the published phase-1 Parquet and the Iceberg tables."""

    parquet: dict[str, int]
    iceberg: dict[str, int]
    iceberg_runs: frozenset[str] = field(default_factory=frozenset)
    iceberg_sources: frozenset[str] = field(default_factory=frozenset)


def seen(data: Path) -> Seen:
    """Read the lakehouse as every reader does; assert each part is whole (one run) on its own."""
    paths = DataPaths(data)
    parquet: dict[str, int] = {}
    run_id = current_run(paths)
    if run_id is not None:
        manifest = RunManifests(paths).load(run_id)
        assert manifest["state"] in ("audited", "published"), manifest["state"]
        assert all(a["ok"] for a in manifest["audits"])
        parquet = {n: table_rows(p) for n, p in phase1_outputs(paths.published()).items()}
        assert parquet == {n: t["rows"] for n, t in manifest["tables"].items()}, (
            "current is not one whole run"
        )
    backend = build_embedded(settings_for(data, OLD_ORDERS))
    iceberg: dict[str, int] = {}
    runs, sources = set(), set()
    existing = {
        t.identifier for ns in backend.catalog.list_namespaces() for t in backend.catalog.list_tables(ns)
    }
    for ident in ICEBERG_TABLES:
        ref = TableRef.parse(ident)
        if ident not in existing:
            continue
        result = backend.sql.execute(f"SELECT COUNT(*) AS n FROM {ident}")
        iceberg[ident] = int(result.tuples(1)[0][0])
        summary = backend.catalog.snapshots(ref)[-1].summary
        runs.add(summary.get("lakehouse.run-id", ""))
        sources.add(summary.get("lakehouse.source-run", ""))
    return Seen(parquet, iceberg, frozenset(runs), frozenset(sources))


def lakehouse(data: Path, *args: str, crash_at: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``lakehouse --data-dir data ARGS`` in a subprocess (killed at ``crash_at``)."""
    full_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
        "LAKEHOUSE_PHASE_ISOLATION": "thread",
        "LAKEHOUSE_ORDERS": str(NEW_ORDERS),
        "LAKEHOUSE_DEFECT_RATE": "0.02",
        "LAKEHOUSE_GENERATE": "always",
        "LAKEHOUSE_CRASH_AT": crash_at,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "lakehouse_core.cli", "--data-dir", str(data), "-q", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass
class CrashLab:
    """The fixed data dir and the saved states (``old``, ``mid``: new phase 1 only, ``p1_waiting``,
    ``p2_waiting``: an audited run waiting for ``publish``), with the counts of the old and new states."""

    base: Path
    old: Seen | None = None
    new: Seen | None = None

    @property
    def data(self) -> Path:
        return self.base / "data"

    def save(self, name: str) -> None:
        shutil.copytree(self.data, self.base / name, symlinks=True)

    def restore(self, name: str) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.copytree(self.base / name, self.data, symlinks=True)

    def build(self) -> None:
        old = build_embedded(settings_for(self.data, OLD_ORDERS))
        old.phases.run(1)
        old.phases.run(2)
        self.old = seen(self.data)
        self.save("old")
        new = build_embedded(settings_for(self.data, NEW_ORDERS, auto_publish=False))
        new.phases.run(1)
        assert new.runs is not None
        new.runs.publish(new.runs.list_runs()[0].run_id)
        self.save("mid")
        new.phases.run(2)
        self.save("p2_waiting")
        new.runs.publish(new.runs.list_runs()[0].run_id)
        self.new = seen(self.data)
        self.restore("old")
        new = build_embedded(settings_for(self.data, NEW_ORDERS, auto_publish=False))
        new.phases.run(1)
        self.save("p1_waiting")

    def waiting_run(self) -> str:
        """The audited run of the current state waiting for ``publish``."""
        return next(m["run_id"] for m in RunManifests(DataPaths(self.data)).all() if m["state"] == "audited")
