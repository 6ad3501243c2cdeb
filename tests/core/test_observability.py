"""Pipeline metrics registry, the PromQL subset, the memory alert and the HTTP exporter."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime

import pytest

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import PhaseResult, TaskResult
from lakehouse_core.observability import (
    PipelineMetrics,
    Sample,
    evaluate_instant,
    evaluate_range,
    memory_alert,
    parse_query,
    start_exporter,
)

MEM = ("process_resident_memory_bytes", ())


def _result() -> PhaseResult:
    return PhaseResult(
        phase=1,
        ok=True,
        run_id="r1",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        seconds=3.5,
        tasks=(TaskResult("ingest_to_bronze", 1.25), TaskResult("aggregate_to_gold", 0.5)),
        rows_per_layer={"bronze.orders": 5000, "gold.daily_sales": 365, "quarantine.orders": 12},
    )


def test_record_phase_fills_gauges() -> None:
    m = PipelineMetrics(process_metrics=False)
    m.record_phase(_result())
    sample = m.sample(now=100.0)
    v = sample.values
    assert v[("lakehouse_task_duration_seconds", (("phase", "1"), ("task", "ingest_to_bronze")))] == 1.25
    assert v[("lakehouse_layer_rows", (("layer", "bronze"), ("table", "orders")))] == 5000
    assert v[("lakehouse_quarantined_rows", (("table", "orders"),))] == 12
    assert v[("lakehouse_phase_duration_seconds", (("phase", "1"),))] == 3.5


def test_instant_and_label_matchers() -> None:
    m = PipelineMetrics(process_metrics=False)
    m.record_phase(_result())
    m.sample(now=10.0)
    series = evaluate_instant(m.history(), 'lakehouse_layer_rows{layer="gold"}')
    assert [(s.labels["table"], s.last) for s in series] == [("daily_sales", 365.0)]


def test_rate_is_per_second_over_window() -> None:
    samples = [Sample(t, {("process_cpu_seconds_total", ()): c}) for t, c in [(0, 0.0), (10, 5.0), (20, 6.0)]]
    series = evaluate_range(samples, "rate(process_cpu_seconds_total[5m])", start=0, end=20)
    assert series[0].points == ((10, 0.5), (20, 0.3))
    series = evaluate_range(samples, "rate(process_cpu_seconds_total[10s])", start=0, end=20)
    assert series[0].points == ((10, 0.5), (20, 0.1))


def test_unsupported_query_is_a_clear_error() -> None:
    with pytest.raises(LakehouseError, match="embedded metrics understand"):
        parse_query("sum by (job) (up)")


@pytest.mark.parametrize(
    ("values", "state"),
    [
        ([1e9, 1e9], "ok"),
        ([1e9, 5e9, 5e9], "pending"),  # above for 60 s
        ([5e9] * 7, "firing"),  # above for 360 s >= 300 s
        ([5e9, 5e9, 5e9, 5e9, 5e9, 1e9, 5e9], "pending"),  # dipped: the 5 minutes restart
    ],
)
def test_memory_alert_states(values: list[float], state: str) -> None:
    samples = [Sample(i * 60.0, {MEM: v}) for i, v in enumerate(values)]
    alert = memory_alert(samples)
    assert alert.state == state
    assert alert.value == values[-1] and alert.threshold == 4e9


def test_exporter_serves_registry() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = PipelineMetrics()
    m.record_phase(_result())
    server = start_exporter(m, port)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
    assert 'lakehouse_layer_rows{layer="bronze",table="orders"} 5000.0' in body
    assert "process_resident_memory_bytes" in body
