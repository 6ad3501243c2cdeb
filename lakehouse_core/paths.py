"""Layout of the local data directory shared by every phase."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TABLES = ("customers", "products", "orders")
GOLD_TABLES = ("daily_sales", "customer_metrics", "product_performance", "regional_sales")


@dataclass(frozen=True)
class DataPaths:
    """``data/`` layout: raw CSV, bronze/silver/gold Parquet, quarantine, warehouse, run state."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def bronze(self) -> Path:
        return self.root / "bronze"

    @property
    def silver(self) -> Path:
        return self.root / "silver"

    @property
    def gold(self) -> Path:
        return self.root / "gold"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

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
        for p in (self.raw, self.bronze, self.silver, self.gold, self.quarantine, self.runs):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def spool(self) -> Path:
        """Where large SQL results are spooled (files unlinked as soon as they are mapped)."""
        return self.root / ".spool"
