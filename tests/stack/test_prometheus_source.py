"""PrometheusMetricsSource against the REAL Prometheus of ``scripts/services.sh up`` (scraping Nessie,
MinIO, itself and the project exporter on 127.0.0.1:9108); tests/core/test_prometheus_unit.py covers
a dead server, the alert evaluation and the panels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from lakehouse_core.backends.stack.prometheus import (
    AlertRule,
    PrometheusMetricsSource,
)
from lakehouse_core.errors import QueryError
from lakehouse_core.models import Series, ServiceState
from lakehouse_core.monitoring.definition import ALERTS
from lakehouse_core.settings import LakehouseSettings


def _wait_for(source: PrometheusMetricsSource, query: str, attempts: int = 60) -> list[Series]:
    """Poll an instant query until it has a result (bounded: scrape interval is 2 s in tests)."""
    for _ in range(attempts):
        found = source.instant(query)
        if found:
            return found
        time.sleep(0.5)
    return []


# ---------------------------------------------------------------- against the real server
@pytest.fixture
def source(stack_settings: LakehouseSettings) -> Iterator[PrometheusMetricsSource]:
    src = PrometheusMetricsSource(stack_settings)
    yield src
    src.close()


@pytest.mark.stack
def test_real_samples_from_nessie_and_minio(source: PrometheusMetricsSource) -> None:
    # every target up: `up == 1` for the three jobs (an earlier outage test may have restarted one,
    # and Prometheus reports it up again only at its next scrape)
    up: dict[str, float | None] = {}
    for _ in range(60):
        up = {s.labels["job"]: s.last for s in source.instant('up{job=~"nessie|minio|prometheus"}')}
        if up == {"nessie": 1.0, "minio": 1.0, "prometheus": 1.0}:
            break
        time.sleep(0.5)
    assert up == {"nessie": 1.0, "minio": 1.0, "prometheus": 1.0}

    nodes = _wait_for(source, "minio_cluster_nodes_online_total")
    assert [(s.name, s.labels["job"], s.last) for s in nodes] == [
        ("minio_cluster_nodes_online_total", "minio", 1.0)]

    heap = _wait_for(source, 'jvm_memory_used_bytes{job="nessie", area="heap"}')
    assert heap and all(s.labels["application"] == "Nessie" for s in heap)
    assert sum(s.last or 0 for s in heap) > 0


@pytest.mark.stack
def test_real_range_query(source: PrometheusMetricsSource) -> None:
    _wait_for(source, 'up{job="prometheus"}')
    time.sleep(4.5)  # at least two scrapes (2 s interval)
    series = source.range('up{job="prometheus"}', window=timedelta(seconds=30), step=timedelta(seconds=2))
    assert len(series) == 1
    points = series[0].points
    assert len(points) >= 2
    assert {v for _, v in points} == {1.0}
    assert all(b - a == pytest.approx(2.0) for (a, _), (b, _) in zip(points, points[1:], strict=False))


@pytest.mark.stack
def test_real_panels_evaluate(source: PrometheusMetricsSource) -> None:
    _wait_for(source, 'up{job="nessie"}')
    results = {p.panel_id: source.instant(p.query) for p in source.panels()}  # all valid PromQL
    memory_jobs = {s.labels["job"] for s in results["memory"]}
    assert "prometheus" in memory_jobs
    assert all((s.last or 0) > 0 for s in results["memory"])
    heap = {s.labels.get("job"): s for s in results["jvm_heap"]}
    assert "nessie" in heap and (heap["nessie"].last or 0) > 0
    # the test stack's Spark cluster: the master counts its two workers
    assert [(s.labels.get("job"), s.last) for s in results["spark_workers"]] == [("spark", 2.0)]


@pytest.mark.stack
def test_real_bad_query_is_a_query_error(source: PrometheusMetricsSource) -> None:
    with pytest.raises(QueryError) as info:
        source.instant("rate(up[5m]")
    assert str(info.value) == 'invalid parameter "query": 1:12: parse error: unclosed left parenthesis'
    assert info.value.engine == "prometheus"


@pytest.mark.stack
def test_real_alerts(source: PrometheusMetricsSource, stack_settings: LakehouseSettings) -> None:
    _wait_for(source, "process_resident_memory_bytes")
    alerts = {a.name: a for a in source.alerts()}  # every rule of the monitoring definition
    assert set(alerts) == {a.name for a in ALERTS}
    memory = alerts["HighMemoryUsage"]  # the platform's rule: > 4e9 for 5 min; nothing here uses 4 GB
    assert (memory.name, memory.state, memory.threshold) == ("HighMemoryUsage", "ok", 4e9)
    assert (alerts["SparkWorkersMissing"].state, alerts["SparkWorkersMissing"].value) == ("ok", 2.0)
    assert memory.value is not None and 0 < memory.value < 4e9

    # "started after X" holds exactly since this Prometheus process started: asked to hold an hour
    # longer than that, it is pending (a persisted TSDB may hold `up` for longer than any fixed window)
    [started] = source.instant('process_start_time_seconds{job="prometheus"}')
    assert started.last is not None
    up_for = time.time() - started.last
    rules = [
        AlertRule("AlwaysOver", 'up{job="prometheus"}', 0.5, for_s=0, step_s=2),
        AlertRule("NotLongEnough", 'process_start_time_seconds{job="prometheus"}', started.last - 1,
                  for_s=up_for + 3600, step_s=60),
    ]
    custom = PrometheusMetricsSource(stack_settings, rules=rules)
    states = {a.name: (a.state, a.value) for a in custom.alerts()}
    custom.close()
    assert states == {"AlwaysOver": ("firing", 1.0), "NotLongEnough": ("pending", started.last)}


@pytest.mark.stack
def test_real_targets(source: PrometheusMetricsSource) -> None:
    for _ in range(60):
        rows = {r.name: r for r in source.targets()}
        if all(rows.get(j) and rows[j].state is ServiceState.UP for j in ("nessie", "minio", "prometheus")):
            break
        time.sleep(0.5)
    assert rows["nessie"].state is ServiceState.UP
    assert rows["nessie"].endpoint == "http://127.0.0.1:19121/q/metrics"
    assert rows["minio"].state is ServiceState.UP
    assert rows["minio"].endpoint == "http://127.0.0.1:9000/minio/v2/metrics/cluster"
    assert rows["prometheus"].state is ServiceState.UP
    assert rows["nessie"].last_error is None
    assert rows["nessie"].checked_at is not None
    assert "lakehouse" in rows  # the project exporter job is configured


@pytest.mark.stack
@pytest.mark.timeout(120)
def test_real_project_exporter_is_scraped(source: PrometheusMetricsSource) -> None:
    """Serve a test metric on 127.0.0.1:9108 (job ``lakehouse``) and read it back through the source."""
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    registry = CollectorRegistry()
    gauge = Gauge("lakehouse_stacksvc_probe_value", "test metric of the stacksvc tests", registry=registry)
    gauge.set(4242.5)
    try:
        server, thread = start_http_server(9108, addr="127.0.0.1", registry=registry)
    except OSError:
        server = None  # another exporter already serves 9108: read what it exposes instead
    try:
        if server is not None:
            found = _wait_for(source, "lakehouse_stacksvc_probe_value", attempts=120)
            assert [(s.name, s.labels["job"], s.last) for s in found] == [
                ("lakehouse_stacksvc_probe_value", "lakehouse", 4242.5)]
        up = _wait_for(source, 'up{job="lakehouse"} == 1', attempts=120)
        assert [s.labels["instance"] for s in up] == ["127.0.0.1:9108"]
        assert _wait_for(source, '{job="lakehouse"}')
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
