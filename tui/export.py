"""Export a QueryResult's Arrow table to CSV or Parquet with the engine's column types (pyarrow imported
lazily: the SQL screen loads before any export)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lakehouse_core.models import QueryResult

ExportFormat = Literal["csv", "parquet"]


def export_result(result: QueryResult, path: Path, fmt: ExportFormat) -> int:
    """Write every fetched row of ``result`` to ``path``; return the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(result.table, path)
    else:
        import pyarrow.parquet as pq

        pq.write_table(result.table, path)
    return result.row_count
