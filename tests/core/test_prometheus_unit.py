"""PrometheusMetricsSource without a Prometheus: a dead server, the alert evaluation, the panels."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from lakehouse_core.backends.stack.prometheus import (
    MEMORY_ALERT,
    AlertRule,
    PrometheusMetricsSource,
    evaluate_rule,
)
from lakehouse_core.errors import ServiceUnavailableError
from lakehouse_core.models import Series
from lakehouse_core.monitoring.definition import metric_panels
from lakehouse_core.ports import MetricsSource
from lakehouse_core.settings import load_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_prometheus_is_unavailable() -> None:
    source = PrometheusMetricsSource(load_settings(prometheus={"url": f"http://127.0.0.1:{_closed_port()}"},
                                                   http_timeout_s=2.0))
    assert isinstance(source, MetricsSource)
    with pytest.raises(ServiceUnavailableError, match="prometheus is unavailable: connection refused"):
        source.instant("up")
    with pytest.raises(ServiceUnavailableError):
        source.range("up", window=timedelta(minutes=1), step=timedelta(seconds=5))
    with pytest.raises(ServiceUnavailableError):
        source.targets()
    with pytest.raises(ServiceUnavailableError):
        source.alerts()
    assert source.ready() is False


def _series(points: list[tuple[float, float]], **labels: str) -> Series:
    return Series("process_resident_memory_bytes", labels, tuple(points))


def test_alert_evaluation_pending_then_firing() -> None:
    rule = AlertRule(
        "HighMemoryUsage", "process_resident_memory_bytes", 4e9, for_s=300, step_s=15, unit="bytes"
    )
    low = _series([(t, 1e9) for t in range(0, 330, 15)], job="minio")
    recent = _series([(t, 1e9 if t < 200 else 5e9) for t in range(0, 330, 15)], job="nessie")
    long = _series([(t, 5e9) for t in range(0, 330, 15)], job="spark")

    ok = evaluate_rule(rule, [low])
    assert (ok.state, ok.value, ok.message) == ("ok", 1e9, "job=minio: 953.7 MiB <= 3.7 GiB")
    pending = evaluate_rule(rule, [low, recent])
    assert (pending.state, pending.value) == ("pending", 5e9)
    assert pending.message == "job=nessie: 4.7 GiB > 3.7 GiB for 105s (for 300s)"
    firing = evaluate_rule(rule, [low, recent, long])
    assert (firing.state, firing.value, firing.severity, firing.unit) == ("firing", 5e9, "warning", "bytes")
    assert firing.message == "job=spark: 4.7 GiB > 3.7 GiB for 315s (for 300s)"
    none = evaluate_rule(rule, [])
    assert (none.state, none.value, none.message) == ("ok", None, "no data")
    # a gap (the series absent for more than two steps: its target was down) resets the hold
    gap = _series([(t, 5e9) for t in (*range(0, 150, 15), *range(240, 330, 15))], job="spark")
    after = evaluate_rule(rule, [gap])
    assert (after.state, after.message) == ("pending", "job=spark: 4.7 GiB > 3.7 GiB for 75s (for 300s)")


def test_panels_are_the_platform_queries() -> None:
    source = PrometheusMetricsSource(load_settings())
    panels = {p.panel_id: p for p in source.panels()}
    assert panels["cpu"].query == "rate(process_cpu_seconds_total[5m])"
    assert panels["memory"].query == "process_resident_memory_bytes"
    assert panels["memory"].warn == 4e9
    assert "spark_master_aliveWorkers" in panels["spark_workers"].query
    assert "metrics_master_aliveWorkers_Value" in panels["spark_workers"].query
    assert "airflow_task_duration" in panels["airflow_task_duration"].query
    assert 'jvm_memory_bytes_used{area="heap"}' in panels["jvm_heap"].query
    assert 'jvm_memory_used_bytes{area="heap"}' in panels["jvm_heap"].query
    assert source.panels() == metric_panels()  # the one definition, shared with Grafana
    assert MEMORY_ALERT.threshold == 4e9 and MEMORY_ALERT.for_s == 300


