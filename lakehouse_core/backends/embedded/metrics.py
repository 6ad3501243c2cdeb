"""EmbeddedMetricsSource: series from the in-process PipelineMetrics history."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from lakehouse_core.models import AlertState, MetricPanel, Series
from lakehouse_core.monitoring.definition import EMBEDDED_JOBS, GOLD_FRESHNESS_LIMIT_S, PANELS, metric_panels
from lakehouse_core.monitoring.rules import AlertRule, alert_rules, evaluate_rule
from lakehouse_core.observability import PipelineMetrics, evaluate_instant, evaluate_range, memory_alert

logger = logging.getLogger(__name__)

EMBEDDED_PANELS = tuple(metric_panels(EMBEDDED_JOBS))
"""Every panel of the definition; the in-process registry feeds those of ``EMBEDDED_JOBS``."""
_ALL_QUERIES = frozenset(p.query for p in PANELS)
_EMBEDDED_QUERIES = frozenset(p.query for p in PANELS if p.job in EMBEDDED_JOBS)


class EmbeddedMetricsSource:
    """Reads the in-process registry; a daemon thread samples it every ``interval_s`` seconds."""

    def __init__(
        self,
        metrics: PipelineMetrics,
        *,
        interval_s: float = 2.0,
        background: bool = True,
        warmup: Callable[[PipelineMetrics], None] | None = None,
        gold_freshness_limit_s: float = GOLD_FRESHNESS_LIMIT_S,
    ) -> None:
        """``warmup`` runs once before the first sample (e.g. load the persisted run results)."""
        self.metrics = metrics
        self.rules: tuple[AlertRule, ...] = tuple(
            rule
            for rule in alert_rules(gold_freshness_limit_s=gold_freshness_limit_s)
            if rule.job in EMBEDDED_JOBS
        )
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
        if query in _ALL_QUERIES and query not in _EMBEDDED_QUERIES:
            return []
        self._ensure_sampling()
        return evaluate_instant(self.metrics.history(), query)

    def range(self, query: str, *, window: timedelta, step: timedelta) -> list[Series]:
        """A panel of another service's job (Spark, Airflow, PostgreSQL) has no series here."""
        if query in _ALL_QUERIES and query not in _EMBEDDED_QUERIES:
            return []
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
        """The memory alert (its in-process form), then every other rule of the registry's series."""
        self._ensure_sampling()
        history = self.metrics.history()
        states = [memory_alert(history)]
        for rule in self.rules:
            if rule.name != states[0].name:
                series = evaluate_range(history, rule.query, start=0, end=float("inf"))
                states.append(evaluate_rule(rule, series))
        return states
