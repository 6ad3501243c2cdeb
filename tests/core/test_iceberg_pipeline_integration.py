"""promote_all on the real phase-1 pipeline output (not only hand-made fixtures)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from lakehouse_core.engines.duckdb_sql import DuckDbSqlEngine
from lakehouse_core.iceberg.promote import promote_all
from lakehouse_core.iceberg.tables import TABLES
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline import tasks as pipeline_tasks
from lakehouse_core.pipeline.parts import table_rows
from tests.core.iceberg_fixtures import open_catalog


def test_pipeline_output_promotes_and_queries(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path).ensure()
    pipeline_tasks.generate_sample_data(paths, orders=800, seed=7, defect_rate=0.05, run_id="p1")
    for _name, _, task in pipeline_tasks.PHASE1_TASKS[1:]:
        task(paths, run_id="p1")
    catalog = open_catalog(tmp_path)
    refs = promote_all(catalog, paths, run_id="it")
    assert len(refs) == len(TABLES)
    for definition in TABLES:
        expected = table_rows(definition.source_path(paths))
        assert catalog.load_table(definition.identifier).scan().to_arrow().num_rows == expected
    silver = pq.read_table(paths.silver_orders)
    engine = DuckDbSqlEngine(catalog)
    got = engine.execute(
        "SELECT (SELECT SUM(revenue) FROM silver.orders_enriched), "
        "(SELECT SUM(total_revenue) FROM gold.daily_sales)"
    ).tuples()[0]
    expected_revenue = sum(v for v in silver.column("revenue").to_pylist() if v is not None)
    assert got == (expected_revenue, expected_revenue)
