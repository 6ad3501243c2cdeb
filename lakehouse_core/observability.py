"""Pipeline metrics in a prometheus_client registry, an in-process history for range queries,
the platform's memory alert, and the HTTP exporter Prometheus scrapes (job ``lakehouse``)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, start_http_server

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import AlertState, PhaseResult, Series
from lakehouse_core.monitoring.definition import GOLD_FRESHNESS_LIMIT_S, MEMORY_ALERT_BYTES
from lakehouse_core.units import duration, unit_of

logger = logging.getLogger(__name__)

MEMORY_ALERT_FOR = timedelta(minutes=5)

LabelKey = tuple[tuple[str, str], ...]
TABLE_STATS_OUTPUT = "tables"
"""Phase 4's output: per table ``{committed_at, snapshots, data_files}`` (``record_table``'s arguments)."""


@dataclass(frozen=True)
class Sample:
    """All series values at one instant."""

    ts: float
    values: Mapping[tuple[str, LabelKey], float]


class PipelineMetrics:
    """The registry phase 4 fills and the exporter serves, plus a bounded sample history."""

    def __init__(
        self,
        *,
        history_points: int = 720,
        process_metrics: bool = True,
        gold_freshness_limit_s: float = GOLD_FRESHNESS_LIMIT_S,
    ) -> None:
        self.registry = CollectorRegistry()
        if process_metrics:
            ProcessCollector(registry=self.registry)
        r = self.registry
        self.task_duration = Gauge(
            "lakehouse_task_duration_seconds",
            "Duration of the last run of a task",
            ["phase", "task"],
            registry=r,
        )
        self.phase_duration = Gauge(
            "lakehouse_phase_duration_seconds", "Duration of the last run of a phase", ["phase"], registry=r
        )
        self.phase_success = Gauge(
            "lakehouse_phase_last_success",
            "1 when the last run of the phase succeeded",
            ["phase"],
            registry=r,
        )
        self.layer_rows = Gauge(
            "lakehouse_layer_rows", "Rows per layer table", ["layer", "table"], registry=r
        )
        self.quarantined_rows = Gauge(
            "lakehouse_quarantined_rows", "Rows quarantined by the quality gates", ["table"], registry=r
        )
        self.quarantine_percent = Gauge(
            "lakehouse_quarantine_percent",
            "Quarantined rows as a percentage of the raw rows read",
            ["table"],
            registry=r,
        )
        self.phase_last_run = Gauge(
            "lakehouse_phase_last_run_timestamp_seconds",
            "Unix time the last run of the phase ended",
            ["phase"],
            registry=r,
        )
        self.table_freshness = Gauge(
            "lakehouse_table_freshness_seconds",
            "Seconds since the table's last commit",
            ["layer", "table"],
            registry=r,
        )
        self.table_snapshots = Gauge(
            "lakehouse_table_snapshots", "Snapshots of the table", ["layer", "table"], registry=r
        )
        self.table_data_files = Gauge(
            "lakehouse_table_data_files",
            "Data files of the table's current snapshot",
            ["layer", "table"],
            registry=r,
        )
        self.gold_freshness_limit = Gauge(
            "lakehouse_gold_freshness_limit_seconds",
            "Age after which a gold table is stale (the GoldTableStale alert's threshold)",
            registry=r,
        )
        self.gold_freshness_limit.set(gold_freshness_limit_s)
        self._last_commit: dict[str, float] = {}
        self._history: deque[Sample] = deque(maxlen=history_points)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ recording
    def record_phase(self, result: PhaseResult) -> None:
        """Record a phase result's durations, rows per layer and quarantined rows."""
        phase = str(result.phase)
        self.phase_duration.labels(phase).set(result.seconds)
        self.phase_success.labels(phase).set(1.0 if result.ok else 0.0)
        self.phase_last_run.labels(phase).set(result.started_at.timestamp() + result.seconds)
        for task in result.tasks:
            self.task_duration.labels(phase, task.name).set(task.seconds)
        rows = result.rows_per_layer
        for key, count in rows.items():
            layer, _, table = key.partition(".")
            if layer == "quarantine":
                self.quarantined_rows.labels(table or layer).set(count)
                raw = rows.get(f"raw.{table}")
                if raw:
                    self.quarantine_percent.labels(table).set(100.0 * count / raw)
            else:
                self.layer_rows.labels(layer, table or layer).set(count)
        for name, stats in (result.outputs.get(TABLE_STATS_OUTPUT) or {}).items():
            self.record_table(name, **stats)

    def record_commit(self, table: str, committed_at_s: float) -> None:
        """Remember a table's last commit time (for freshness)."""
        self._last_commit[table] = committed_at_s

    def record_table(self, table: str, *, committed_at: float, snapshots: int, data_files: int) -> None:
        """A table's last commit time (for freshness), snapshot count and current data files."""
        self.record_commit(table, committed_at)
        layer = table.partition(".")[0]
        self.table_snapshots.labels(layer, table).set(snapshots)
        self.table_data_files.labels(layer, table).set(data_files)

    def refresh_freshness(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for table, ts in self._last_commit.items():
            self.table_freshness.labels(table.partition(".")[0], table).set(max(0.0, now - ts))

    # ------------------------------------------------------------ history
    def sample(self, now: float | None = None) -> Sample:
        """Snapshot every series of the registry into the history."""
        now = time.time() if now is None else now
        self.refresh_freshness(now)
        values: dict[tuple[str, LabelKey], float] = {}
        for family in self.registry.collect():
            for s in family.samples:
                values[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
        sample = Sample(now, values)
        with self._lock:
            self._history.append(sample)
        return sample

    def history(self) -> list[Sample]:
        with self._lock:
            return list(self._history)


# ---------------------------------------------------------------- a tiny query language
_SELECTOR = re.compile(r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<labels>[^}]*)\})?\s*$")
_RATE = re.compile(r"^\s*rate\((?P<inner>.+)\[(?P<window>\d+)(?P<unit>[smh])\]\)\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"\s*')
_UNITS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class ParsedQuery:
    """A selector ``name{label="v"}``, optionally wrapped in ``rate(...[window])``."""

    name: str
    matchers: tuple[tuple[str, str], ...]
    rate_window_s: float | None = None


def parse_query(query: str) -> ParsedQuery:
    """Parse the PromQL subset the embedded source understands; LakehouseError otherwise."""
    rate = _RATE.match(query)
    inner, window = (
        (rate.group("inner"), float(rate.group("window")) * _UNITS[rate.group("unit")])
        if rate
        else (query, None)
    )
    m = _SELECTOR.match(inner)
    if not m:
        raise LakehouseError(
            f'embedded metrics understand `name{{label="v"}}` and `rate(name[5m])`, not: {query}',
            title="Unsupported query",
        )
    matchers: list[tuple[str, str]] = []
    if m.group("labels"):
        for part in m.group("labels").split(","):
            if not part.strip():
                continue
            lm = _LABEL.fullmatch(part)
            if not lm:
                raise LakehouseError(f"bad label matcher {part!r} in {query}", title="Unsupported query")
            matchers.append((lm.group(1), lm.group(2)))
    return ParsedQuery(m.group("name"), tuple(matchers), window)


def _matches(key: tuple[str, LabelKey], q: ParsedQuery) -> bool:
    name, labels = key
    if name != q.name:
        return False
    d = dict(labels)
    return all(d.get(k) == v for k, v in q.matchers)


def evaluate_range(samples: Iterable[Sample], query: str, *, start: float, end: float) -> list[Series]:
    """Series of ``query`` over the samples with start <= ts <= end (rate() per second)."""
    q = parse_query(query)
    points: dict[LabelKey, list[tuple[float, float]]] = {}
    ordered = sorted(samples, key=lambda s: s.ts)
    for i, sample in enumerate(ordered):
        if not start <= sample.ts <= end:
            continue
        for key, value in sample.values.items():
            if not _matches(key, q):
                continue
            if q.rate_window_s is None:
                points.setdefault(key[1], []).append((sample.ts, value))
                continue
            older = [s for s in ordered[:i] if sample.ts - s.ts <= q.rate_window_s and key in s.values]
            if older:
                first = older[0]
                dt = sample.ts - first.ts
                if dt > 0:
                    points.setdefault(key[1], []).append(
                        (sample.ts, max(0.0, value - first.values[key]) / dt)
                    )
    return [Series(query, dict(labels), tuple(pts)) for labels, pts in sorted(points.items())]


def evaluate_instant(samples: Iterable[Sample], query: str) -> list[Series]:
    """The last point of every series of ``query``."""
    ordered = sorted(samples, key=lambda s: s.ts)
    if not ordered:
        return []
    last = ordered[-1].ts
    series = evaluate_range(ordered, query, start=ordered[0].ts, end=last)
    return [Series(s.name, s.labels, s.points[-1:]) for s in series if s.points and s.points[-1][0] == last]


def memory_alert(
    samples: Iterable[Sample], *, threshold: float = MEMORY_ALERT_BYTES, hold: timedelta = MEMORY_ALERT_FOR
) -> AlertState:
    """The platform's memory alert over the history: ok, pending (above, < hold) or firing (above >= hold)."""
    series = evaluate_range(samples, "process_resident_memory_bytes", start=0, end=float("inf"))
    points = series[0].points if series else ()
    if not points:
        return AlertState("HighMemoryUsage", "ok", None, threshold, "no memory samples yet", unit="bytes")
    value = points[-1][1]
    size = unit_of("bytes").format
    if value <= threshold:
        message = f"{size(value)} <= {size(threshold)}"
        return AlertState("HighMemoryUsage", "ok", value, threshold, message, unit="bytes")
    above_since = points[-1][0]
    for ts, v in reversed(points):
        if v <= threshold:
            break
        above_since = ts
    held = points[-1][0] - above_since
    state: Literal["pending", "firing"] = "firing" if held >= hold.total_seconds() else "pending"
    return AlertState(
        "HighMemoryUsage",
        state,
        value,
        threshold,
        f"{size(value)} > {size(threshold)} for {duration(held)}"
        f" (fires after {duration(hold.total_seconds())})",
        unit="bytes",
    )


def start_exporter(metrics: PipelineMetrics, port: int, addr: str = "127.0.0.1") -> Any:
    """Serve the registry over HTTP (``/metrics``) in a daemon thread; returns the server."""
    server, _thread = start_http_server(port, addr=addr, registry=metrics.registry)
    logger.info("pipeline metrics exporter on http://%s:%s/metrics", addr, port)
    return server
