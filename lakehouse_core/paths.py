"""Layout of the local data directory shared by every phase.

``raw/`` (the user's CSVs) and ``runs/`` (run records) live at the root. A phase-1 run writes its
outputs (bronze, silver, gold, quarantine, reports) into its own run directory ``runs/<run_id>/``;
``current`` is a symlink to the published run, replaced atomically, and readers read through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TABLES = ("customers", "products", "orders")
GOLD_TABLES = ("daily_sales", "customer_metrics", "product_performance", "regional_sales")


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///...`` URL (None for other URLs or in-memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.endswith(":memory:"):
        return None
    return Path(url[len(prefix):])


CURRENT = "current"
"""Name of the symlink (under the data dir) to the published phase-1 run directory."""


@dataclass(frozen=True)
class DataPaths:
    """``data/`` layout: raw CSV, bronze/silver/gold Parquet, quarantine, warehouse, run state.

    ``outputs`` is where the layers are: ``root`` itself unless set (the pipeline functions on a
    plain directory); ``for_run`` gives a run's directory, ``published`` the ``current`` symlink.
    """

    root: Path
    outputs_dir: Path | None = None

    @property
    def outputs(self) -> Path:
        """Directory holding bronze/silver/gold/quarantine (a run dir, ``current`` or the root)."""
        return self.outputs_dir if self.outputs_dir is not None else self.root

    def run_dir(self, run_id: str) -> Path:
        """Where run ``run_id`` keeps its manifest (and, for phase 1, its outputs)."""
        return self.runs / run_id

    def for_run(self, run_id: str) -> DataPaths:
        """These paths with the layers in run ``run_id``'s directory (raw and runs unchanged)."""
        return DataPaths(self.root, self.run_dir(run_id))

    @property
    def current(self) -> Path:
        """The symlink to the published phase-1 run directory."""
        return self.root / CURRENT

    def published(self) -> DataPaths:
        """These paths with the layers read through the ``current`` symlink."""
        return DataPaths(self.root, self.current)

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def bronze(self) -> Path:
        return self.outputs / "bronze"

    @property
    def silver(self) -> Path:
        return self.outputs / "silver"

    @property
    def gold(self) -> Path:
        return self.outputs / "gold"

    @property
    def quarantine(self) -> Path:
        return self.outputs / "quarantine"

    @property
    def runs(self) -> Path:
        """Persisted phase results and run ids."""
        return self.root / "runs"

    def raw_csv(self, table: str) -> Path:
        """The file generation writes for ``table`` (one of the files ``raw_files`` finds)."""
        return self.raw / f"{table}.csv"

    def raw_files(self, table: str) -> list[Path]:
        """Every raw CSV of ``table``, by name: ``raw/<table>.csv`` and ``raw/<table><anything>.csv``
        (e.g. ``orders-2024-01.csv``, ``orders_part2.csv``), ``<table>.csv`` first, then by name (file
        order decides which line of a repeated key is kept); hidden files are not raw data."""
        if not self.raw.is_dir():
            return []
        found = [p for p in self.raw.glob(f"{table}*.csv") if p.is_file()]
        return sorted(found, key=lambda p: (p.name != f"{table}.csv", p.name))

    def bronze_parquet(self, table: str) -> Path:
        return self.bronze / f"{table}.parquet"

    def quarantine_parquet(self, table: str) -> Path:
        return self.quarantine / f"{table}.parquet"

    @property
    def quality_report(self) -> Path:
        return self.bronze / "quality_report.json"

    @property
    def silver_orders(self) -> Path:
        return self.silver / "orders_enriched.parquet"

    def gold_parquet(self, table: str) -> Path:
        return self.gold / f"{table}.parquet"

    @property
    def kpi_report(self) -> Path:
        return self.gold / "kpi_report.json"

    def ensure(self) -> DataPaths:
        """Create every directory; return self."""
        self.runs.mkdir(parents=True, exist_ok=True)  # before the layers: a run dir lives under it
        for p in (self.raw, self.bronze, self.silver, self.gold, self.quarantine):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def spool(self) -> Path:
        """Where large SQL results are spooled (files unlinked as soon as they are mapped)."""
        return self.root / ".spool"
