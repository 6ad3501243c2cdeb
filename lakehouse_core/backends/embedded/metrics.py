"""EmbeddedMetricsSource: series from the in-process PipelineMetrics history."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from lakehouse_core.models import AlertState, MetricPanel, Series
from lakehouse_core.observability import (
    MEMORY_ALERT_BYTES,
    PipelineMetrics,
    evaluate_instant,
    evaluate_range,
    memory_alert,
)

logger = logging.getLogger(__name__)

EMBEDDED_PANELS = (
    MetricPanel("cpu", "Process CPU (cores)", "rate(process_cpu_seconds_total[5m])", "cores", 1.5, 1.9),
    MetricPanel(
        "memory",
        "Process memory (RSS)",
        "process_resident_memory_bytes",
        "bytes",
        MEMORY_ALERT_BYTES,
        2 * MEMORY_ALERT_BYTES,
    ),
    MetricPanel("task_durations", "Task durations", "lakehouse_task_duration_seconds", "s"),
    MetricPanel("phase_durations", "Phase durations", "lakehouse_phase_duration_seconds", "s"),
    MetricPanel("rows", "Rows per layer", "lakehouse_layer_rows", "rows"),
    MetricPanel("quarantine", "Quarantined rows", "lakehouse_quarantined_rows", "rows", 1, 1000),
    MetricPanel("freshness", "Table freshness", "lakehouse_table_freshness_seconds", "s", 86_400, 7 * 86_400),
)


class EmbeddedMetricsSource:
    """Reads the in-process registry; a daemon thread samples it every ``interval_s`` seconds."""

    def __init__(
        self,
        metrics: PipelineMetrics,
        *,
        interval_s: float = 2.0,
        background: bool = True,
        warmup: Callable[[PipelineMetrics], None] | None = None,
    ) -> None:
        """``warmup`` runs once before the first sample (e.g. load the persisted run results)."""
        self.metrics = metrics
        self._warmup = warmup
        self.interval_s = interval_s
        self._background = background
        self._started = False
        self._lock = threading.Lock()

    def _ensure_sampling(self) -> None:
        if self._warmup is not None:
            warmup, self._warmup = self._warmup, None
            try:
                warmup(self.metrics)
            except Exception as exc:  # noqa: BLE001 - metrics stay usable without the history
                logger.warning("metrics warm-up failed: %s", exc)
        if not self.metrics.history():
            self.metrics.sample()
        if not self._background or self._started:
            return
        with self._lock:
            if self._started:
                return
            self._started = True
            threading.Thread(target=self._loop, name="metrics-sampler", daemon=True).start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval_s)
            try:
                self.metrics.sample()
            except Exception as exc:  # noqa: BLE001 - sampling must never kill the thread
                logger.warning("metrics sampling failed: %s", exc)

    def panels(self) -> list[MetricPanel]:
        return list(EMBEDDED_PANELS)

    def instant(self, query: str) -> list[Series]:
        self._ensure_sampling()
        return evaluate_instant(self.metrics.history(), query)

    def range(self, query: str, *, window: timedelta, step: timedelta) -> list[Series]:
        self._ensure_sampling()
        end = time.time()
        series = evaluate_range(self.metrics.history(), query, start=end - window.total_seconds(), end=end)
        step_s = max(step.total_seconds(), 0.0)
        if step_s <= 0:
            return series
        thinned = []
        for s in series:
            pts, last = [], float("-inf")
            for ts, v in s.points:
                if ts - last >= step_s:
                    pts.append((ts, v))
                    last = ts
            thinned.append(Series(s.name, s.labels, tuple(pts)))
        return thinned

    def alerts(self) -> list[AlertState]:
        self._ensure_sampling()
        return [memory_alert(self.metrics.history())]
