"""The Metrics screen draws exactly the panels of lakehouse_core/monitoring/definition.py (the ones
the Grafana dashboard and the Prometheus rules are generated from), through the embedded source."""

from __future__ import annotations

import dataclasses

from lakehouse_core.backends.embedded.metrics import EmbeddedMetricsSource
from lakehouse_core.models import PhaseResult, TaskResult
from lakehouse_core.monitoring.definition import ALERTS, EMBEDDED_JOBS, PANELS, SERVICE_OF_JOB
from lakehouse_core.observability import PipelineMetrics
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, cells, settle
from tests.tui.fakes import FakeBackend
from tui.app import LakehouseApp
from tui.screens.metrics import MetricsScreen
from tui.widgets.metric_chart import MetricChart


async def test_the_screen_shows_the_definitions_panels_and_alerts(
    fake_backend: FakeBackend, settings: LakehouseSettings
) -> None:
    from datetime import UTC, datetime

    registry = PipelineMetrics()
    registry.record_phase(
        PhaseResult(
            1, False, "r1", datetime.now(UTC), 2.0, (TaskResult("ingest_to_bronze", 2.0),),
            rows_per_layer={"raw.orders": 100, "quarantine.orders": 10, "bronze.orders": 90},
        )
    )
    source = EmbeddedMetricsSource(registry, background=False)
    backend = dataclasses.replace(fake_backend, metrics=source)
    app = LakehouseApp(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        charts = list(screen.query(MetricChart))
        assert [(c.panel.panel_id, c.panel.title, c.panel.query) for c in charts] == [
            (p.panel_id, p.title, p.query) for p in PANELS
        ]
        # panels of services embedded mode does not run say so instead of "no data"
        absent = {c.panel.panel_id: c.spec([], 0.0, 900.0).empty_text for c in charts if c.panel.absent}
        assert absent == {
            p.panel_id: f"{SERVICE_OF_JOB[p.job]}: stack mode only"
            for p in PANELS if p.job not in EMBEDDED_JOBS and p.job is not None
        }
        assert {"spark_workers", "airflow_task_instances"} <= set(absent)
        alerts = {row[0]: row[1] for row in cells(screen.query_one("#alerts"))}
        assert set(alerts) <= {a.name for a in ALERTS} and "HighMemoryUsage" in alerts
        # the registry's series drive the pipeline alerts: phase 1 failed, 10 % quarantined
        assert alerts["PipelineRunFailed"] == "firing"
        assert alerts["HighQuarantineRate"] == "firing"
        assert alerts["GoldTableStale"] == "ok"
