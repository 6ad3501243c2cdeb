"""A realistic in-memory Backend for the TUI tests: every Protocol of ports.py, fixed timestamps.

Any method can be made to hang (block on a threading.Event) or raise through ``Gate``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from lakehouse_core.engines.compare import EngineQueryComparer
from lakehouse_core.errors import (
    LakehouseError,
    PhaseFailed,
)
from lakehouse_core.models import (
    AlertState,
    ComposeServiceState,
    MaintenanceReport,
    MetricPanel,
    PhasePlan,
    PhaseResult,
    ProgressEvent,
    Series,
    ServiceState,
    ServiceStatus,
    SnapshotRef,
    TableMaintenanceResult,
    TableRef,
    TaskResult,
    TaskSpec,
)
from lakehouse_core.ports import NULL_PROGRESS, Backend, CancelToken, ProgressSink
from tests.tui.fake_base import HANG_TIMEOUT_S, T0, Gate
from tests.tui.fake_catalog import (
    ORDER_FIELDS,
    ORDER_SNAPSHOTS,
    TABLES,
    FakeCatalog,
    FakeSqlEngine,
    order_row,
)

__all__ = [
    "HANG_TIMEOUT_S",
    "ORDER_FIELDS",
    "ORDER_SNAPSHOTS",
    "T0",
    "TABLES",
    "FakeBackend",
    "FakeCatalog",
    "FakeMaintenance",
    "FakeMetrics",
    "FakePhaseRunner",
    "FakeSqlEngine",
    "FakeStatusProvider",
    "Gate",
    "make_fake_backend",
    "order_row",
]


# ------------------------------------------------------------------ status
class FakeStatusProvider:
    supports_control = False

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.controlled: list[tuple[str, str]] = []

    def statuses(self) -> list[ServiceStatus]:
        self.gate.check("statuses")
        return [
            ServiceStatus(
                "catalog",
                ServiceState.UP,
                "sqlite:///data/catalog.db",
                1.2,
                "8 tables",
                kind="in-process",
                checked_at=T0,
            ),
            ServiceStatus(
                "duckdb", ServiceState.UP, "in-process", 2.0, "duckdb 1.5.5", kind="in-process", checked_at=T0
            ),
            ServiceStatus(
                "postgres",
                ServiceState.DOWN,
                "127.0.0.1:5432",
                None,
                "no answer",
                last_error="connection refused",
                checked_at=T0,
            ),
            ServiceStatus(
                "nessie",
                ServiceState.BLOCKED,
                "http://127.0.0.1:19120",
                None,
                "not probed",
                depends_on=("postgres",),
                blocked_by="postgres",
                checked_at=T0,
            ),
            ServiceStatus(
                "metrics",
                ServiceState.DEGRADED,
                "in-process",
                5.0,
                "1 alert firing",
                kind="in-process",
                checked_at=T0,
            ),
        ]

    def control(self, service: str, action: Literal["start", "stop", "restart"]) -> None:
        """Records ``(action, service)`` in ``controlled`` when ``supports_control`` is set."""
        self.gate.check("control")
        if not self.supports_control:
            raise LakehouseError("service control is not supported in embedded mode")
        if service == "metrics":
            raise LakehouseError(f"cannot {action} metrics: container lakehouse-metrics not found")
        self.controlled.append((action, service))

    def logs(self, service: str, lines: int = 100) -> list[str]:
        self.gate.check("logs")
        return [f"{service} log line {i}" for i in range(1, 4)] if service == "postgres" else []

    def compose_services(self) -> list[ComposeServiceState]:
        raise LakehouseError("embedded mode has no Compose stack: run in stack mode (--mode stack)")

    def stack_up(self, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None) -> None:
        raise LakehouseError("embedded mode has no Compose stack: run in stack mode (--mode stack)")

    def follow_logs(self, service: str, cancel: CancelToken, lines: int = 100) -> Iterator[str]:
        raise LakehouseError("embedded mode has no Compose stack: run in stack mode (--mode stack)")


# ------------------------------------------------------------------ phases
PLANS: dict[int, tuple[str, tuple[TaskSpec, ...]]] = {
    1: (
        "Ingest raw data to Bronze",
        (
            TaskSpec("generate", "Generate raw CSVs for customers, products and orders"),
            TaskSpec("bronze", "Type raw rows into Bronze Parquet, quarantine malformed rows"),
            TaskSpec("quality", "Run the quality gates on Bronze"),
        ),
    ),
    2: (
        "Silver and Gold on Iceberg",
        (
            TaskSpec("silver", "Join orders with customers and products"),
            TaskSpec("gold", "Aggregate daily sales, customer, product and regional metrics"),
            TaskSpec("iceberg", "Write every layer as Iceberg tables"),
        ),
    ),
    3: ("Analytics and time travel", (TaskSpec("queries", "Run the analytics queries"),)),
    4: ("Monitoring", (TaskSpec("alerts", "Evaluate the alert rules"),)),
}


class FakePhaseRunner:
    def __init__(self, gate: Gate, orders: int = 5_000, chunk: int = 500, delay_s: float = 0.0) -> None:
        self.gate = gate
        self.orders = orders
        self.chunk = chunk
        self.delay_s = delay_s
        self.fail_task: str | None = None
        self._results: dict[int, PhaseResult] = {}
        self._wait = threading.Event()

    def plan(self, phase: int) -> PhasePlan:
        self.gate.check("plan")
        title, tasks = PLANS[phase]
        return PhasePlan(
            phase, title, tasks, (f"orders: {self.orders:,} (seed 42)", "catalog: sqlite:///data/catalog.db")
        )

    def run(
        self, phase: int, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None
    ) -> PhaseResult:
        self.gate.check("run")
        title, tasks = PLANS[phase]
        done: list[TaskResult] = []
        for task in tasks:
            if task.name == self.fail_task:
                partial = self._result(phase, tuple(done), ok=False, error=f"{task.name}: disk full")
                self._results[phase] = partial
                raise PhaseFailed(phase, f"{task.name}: disk full", partial)
            progress.emit(ProgressEvent(phase, task.name, "start", 0, self.orders, task.description))
            for start in range(0, self.orders, self.chunk):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                if self.delay_s:
                    self._wait.wait(self.delay_s)
                progress.emit(
                    ProgressEvent(
                        phase, task.name, "advance", min(start + self.chunk, self.orders), self.orders
                    )
                )
            progress.emit(ProgressEvent(phase, task.name, "log", message=f"{self.orders:,} rows"))
            progress.emit(ProgressEvent(phase, task.name, "finish", self.orders, self.orders, "ok"))
            done.append(TaskResult(task.name, 0.5, {f"{task.name}": self.orders}))
        result = self._result(phase, tuple(done), ok=True)
        self._results[phase] = result
        return result

    def _result(
        self, phase: int, tasks: tuple[TaskResult, ...], ok: bool, error: str | None = None
    ) -> PhaseResult:
        rows = {
            1: {"raw": self.orders, "bronze": self.orders - 3},
            2: {"silver": self.orders - 3, "gold": 92},
        }
        snaps = (
            SnapshotRef("silver.orders_enriched", 2001, "append"),
            SnapshotRef("gold.daily_sales", 2002, "append"),
        )
        return PhaseResult(
            phase,
            ok,
            f"run-{phase}",
            T0,
            1.5 * len(tasks) if tasks else 0.2,
            tasks,
            rows.get(phase, {}),
            3 if phase == 1 else 0,
            snaps if phase == 2 else (),
            outputs=phase3_outputs() if phase == 3 and ok else {},
            error=error,
        )

    def last_results(self) -> dict[int, PhaseResult]:
        self.gate.check("last_results")
        return dict(self._results)


def phase3_outputs() -> dict[str, Any]:
    """What phase 3 stores: each query's columns and rows (newest day first), the time-travel count."""
    days = [
        [f"2026-01-{14 - i:02d}", 40 + i, round(5_000 + 700 * ((i * 5) % 7) - 90 * i, 2), 125.5 + i]
        for i in range(14)
    ]
    customers = [[f"C{7000 + i:05d}", 12 - i // 2, round(9_800.0 - 410.5 * i, 2)] for i in range(10)]
    categories = [
        ["Electronics", 412_880.25, 1_910],
        ["Home [garden]", 198_400.5, 2_377],  # brackets: data, never markup
        ["Sports", 120_010.0, 1_420],
        ["Books", 40_200.75, 3_004],
        ["Toys", 22_950.0, 880],
    ]
    payload = {"engine": "duckdb", "row_count": 0, "elapsed_s": 0.01}
    return {
        "daily_revenue_trend": {
            **payload,
            "columns": ["date", "num_orders", "total_revenue", "avg_order_value"],
            "rows": days,
        },
        "top_customers": {
            **payload,
            "columns": ["customer_id", "total_orders", "lifetime_value"],
            "rows": customers,
        },
        "revenue_by_category": {**payload, "columns": ["category", "revenue", "units"], "rows": categories},
        "time_travel": {
            "snapshot_id": 1001,
            "committed_at": "2026-01-01T11:00:00+00:00",
            "count_then": 4_990,
            "count_now": 5_000,
        },
    }


# ------------------------------------------------------------------ metrics
MIB = 1024**2
PANELS = (
    MetricPanel("cpu", "CPU usage", "process_cpu_percent", "%", warn=70, critical=90),
    MetricPanel("memory", "Process memory (RSS)", "process_resident_memory_bytes", "bytes", 4e9, 8e9),
    MetricPanel("rows", "Rows per layer", "lakehouse_layer_rows", "rows"),
    MetricPanel(
        "latency", "Query latency p95", "lakehouse_query_latency_p95_ms", "ms", warn=500, critical=2000
    ),
    MetricPanel("freshness", "Table freshness", "lakehouse_table_freshness_seconds", "s", 86_400, 604_800),
)
# per query: (labels, value at point i) of every series
CURVES: Mapping[str, tuple[tuple[Mapping[str, str], Any], ...]] = {
    "process_cpu_percent": (({"instance": "embedded"}, lambda i: 60.0 + (i % 10) * 3.5),),
    "process_resident_memory_bytes": (({"instance": "embedded"}, lambda i: 700 * MIB + i * 3.3 * MIB),),
    "lakehouse_layer_rows": tuple(
        ({"layer": layer}, lambda i, n=n: float(n * min(i, 40) * 125))
        for layer, n in (("bronze", 4), ("silver", 3), ("gold", 1), ("quarantine", 0.1))
    ),
    "lakehouse_query_latency_p95_ms": (({"instance": "embedded"}, lambda i: 200.0 + i * 7),),
    "lakehouse_table_freshness_seconds": tuple(
        ({"table": table}, lambda i, h=h: h * 3600.0 + i * 15)
        for table, h in (("bronze.orders", 2), ("silver.orders", 9), ("gold.daily_sales", 30))
    ),
}


class FakeMetrics:
    """Fixed curves ending at T0 (``empty``: no series at all, as on a lakehouse with no samples)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.range_calls: list[tuple[str, timedelta, timedelta]] = []
        self.empty = False

    def panels(self) -> list[MetricPanel]:
        self.gate.check("panels")
        return list(PANELS)

    def instant(self, query: str) -> list[Series]:
        series = self.range(query, window=timedelta(minutes=1), step=timedelta(minutes=1))
        return [Series(s.name, s.labels, s.points[-1:]) for s in series]

    def range(self, query: str, *, window: timedelta, step: timedelta) -> list[Series]:
        self.gate.check("range")
        self.range_calls.append((query, window, step))
        if self.empty:
            return []
        count = max(1, min(60, int(window / step)))
        start = T0.timestamp() - window.total_seconds()
        times = [start + (i + 1) * step.total_seconds() for i in range(count)]
        return [
            Series(query, labels, tuple((t, float(curve(i))) for i, t in enumerate(times)))
            for labels, curve in CURVES.get(query, ())
        ]

    def alerts(self) -> list[AlertState]:
        self.gate.check("alerts")
        if self.empty:
            return [AlertState("HighMemoryUsage", "ok", None, 4e9, "no memory samples yet", unit="bytes")]
        return [
            AlertState("HighCpuUsage", "firing", 91.5, 90.0, "cpu above 90% for 1m", "critical", "%"),
            AlertState("HighMemoryUsage", "ok", 937_807_872.0, 4e9, "894.4 MiB <= 3.7 GiB", unit="bytes"),
            AlertState("SlowQueries", "pending", 613.0, 500.0, "p95 query latency above 500 ms", unit="ms"),
            AlertState("PhaseFailed", "ok", 0.0, 1.0, "no failed phase", "critical"),
        ]


# ------------------------------------------------------------------ maintenance
class FakeMaintenance:
    """Plans 12 expired snapshots on bronze.orders; ``runs`` counts the real runs."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.runs = 0

    def _report(self, dry_run: bool) -> MaintenanceReport:
        done = dry_run or self.runs <= 1
        orders = TableMaintenanceResult(
            "bronze.orders",
            snapshots_expired=12 if done else 0,
            snapshots_kept=5,
            files_removed=40 if done else 0,
            bytes_removed=3 * 1024 * 1024 if done else 0,
            orphans_removed=2 if done else 0,
            orphan_bytes=2048 if done else 0,
        )
        daily = TableMaintenanceResult("gold.daily_sales", snapshots_kept=1)
        return MaintenanceReport(dry_run, (orders, daily))

    def plan(self, table: TableRef | None = None) -> MaintenanceReport:
        self.gate.check("maintenance.plan")
        return self._report(True)

    def run(
        self,
        table: TableRef | None = None,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> MaintenanceReport:
        self.gate.check("maintenance.run")
        self.runs += 1
        return self._report(False)


# ------------------------------------------------------------------ bundle
@dataclass(frozen=True)
class FakeBackend(Backend):
    """A Backend whose parts are the fakes above, sharing one Gate."""

    gate: Gate = field(default_factory=Gate)


def make_fake_backend(
    gate: Gate | None = None, orders: int = 5_000, chunk: int = 500, delay_s: float = 0.0
) -> FakeBackend:
    """Build a FakeBackend (embedded mode)."""
    gate = gate or Gate()
    sql = FakeSqlEngine(gate)
    return FakeBackend(
        "embedded",
        FakeStatusProvider(gate),
        FakeCatalog(gate),
        sql,
        FakeMetrics(gate),
        FakePhaseRunner(gate, orders, chunk, delay_s),
        maintenance=FakeMaintenance(gate),
        compare=EngineQueryComparer(sql),  # the core's diff over the fake engine's results
        gate=gate,
    )
