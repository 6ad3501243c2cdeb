"""EmbeddedMetricsSource on a real lakehouse: a fresh process sees the persisted run metrics."""

from __future__ import annotations

from datetime import timedelta

from lakehouse_core.backends.embedded import build_embedded
from lakehouse_core.ports import Backend


def test_fresh_backend_serves_persisted_pipeline_metrics(embedded_lakehouse: Backend) -> None:
    settings = embedded_lakehouse.phases.settings  # type: ignore[attr-defined]
    fresh = build_embedded(settings)  # as a new TUI process would
    rows = {s.labels["table"]: s.last for s in fresh.metrics.instant('lakehouse_layer_rows{layer="bronze"}')}
    assert rows["orders"] == 5000
    durations = fresh.metrics.instant("lakehouse_task_duration_seconds")
    assert {s.labels["task"] for s in durations} >= {"ingest_to_bronze", "promote_to_iceberg"}
    fresh_tables = {s.labels["table"] for s in fresh.metrics.instant("lakehouse_table_freshness_seconds")}
    assert "bronze.orders" in fresh_tables and len(fresh_tables) == 8
    series = fresh.metrics.range(
        "lakehouse_layer_rows", window=timedelta(minutes=5), step=timedelta(seconds=0)
    )
    assert series and all(s.points for s in series)
