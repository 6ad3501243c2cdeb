"""After a pipeline run, every panel of lakehouse_core/monitoring/definition.py whose service runs in
the test stack returns samples from the real Prometheus (the Grafana dashboard runs the same PromQL).
A panel of a service the stack does not scrape (no target of its job) is skipped, naming the job; the
Airflow panels are checked after a DAG run, in tests/stack/test_airflow.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lakehouse_core.backends.stack.prometheus import PrometheusMetricsSource
from lakehouse_core.monitoring.definition import AIRFLOW_JOB, PANELS, PanelDef
from lakehouse_core.ports import Backend
from tests.stack.test_exporter_scraped import exporter_serving

WAIT_S = 60.0


@pytest.fixture(scope="module")
def scraped(stack_lakehouse: Backend) -> Iterator[tuple[PrometheusMetricsSource, set[str]]]:
    """Phase 4 done (table stats), the exporter serving this data dir, and the jobs Prometheus scrapes."""
    backend = stack_lakehouse
    result = backend.phases.run(4)
    assert result.ok, result.error
    settings = backend.phases.settings  # type: ignore[attr-defined]
    source = PrometheusMetricsSource(settings)
    try:
        with exporter_serving(settings.data_path):
            jobs = {t.name for t in source.targets()}
            yield source, jobs
    finally:
        source.close()


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.panel_id)
def test_panel_query_returns_samples(
    scraped: tuple[PrometheusMetricsSource, set[str]], panel: PanelDef
) -> None:
    source, jobs = scraped
    if panel.job == AIRFLOW_JOB:
        pytest.skip("Airflow's series come from a DAG run: tests/stack/test_airflow.py checks these panels")
    if panel.job is not None and panel.job not in jobs:
        pytest.skip(f"service of job {panel.job!r} is not scraped by the test stack's Prometheus")
    deadline = time.monotonic() + WAIT_S
    found = source.instant(panel.query)
    while not found and time.monotonic() < deadline:
        time.sleep(2)
        found = source.instant(panel.query)
    assert found, f"{panel.title}: no samples for {panel.query}"
    if panel.job is not None:
        assert {s.labels.get("job") for s in found} & {panel.job}, found
    if panel.panel_id in ("data_files", "snapshots", "freshness"):  # phase 4 recorded every table
        assert any(s.labels.get("table") == "bronze.orders" for s in found), found
