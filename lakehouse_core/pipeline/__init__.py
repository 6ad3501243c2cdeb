"""The platform's phase-1 pipeline: generate raw CSVs, bronze, quality, silver, gold, KPI report."""

from __future__ import annotations

from lakehouse_core.pipeline.tasks import (
    PHASE1_TASKS,
    aggregate_to_gold,
    generate_report,
    generate_sample_data,
    ingest_to_bronze,
    reason_code,
    transform_to_silver,
    validate_data_quality,
)

__all__ = [
    "PHASE1_TASKS", "aggregate_to_gold", "generate_report", "generate_sample_data", "ingest_to_bronze",
    "reason_code", "transform_to_silver", "validate_data_quality",
]
