"""A realistic in-memory Backend for the TUI tests: every Protocol of ports.py, fixed timestamps.

Any method can be made to hang (block on a threading.Event) or raise through ``Gate``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from lakehouse_core.errors import (
    CancelledError,
    ConflictError,
    LakehouseError,
    NotFoundError,
    PhaseFailed,
    QueryError,
)
from lakehouse_core.models import (
    AlertState,
    AsOf,
    DataFileInfo,
    FieldInfo,
    MetricPanel,
    Namespace,
    PartitionFieldInfo,
    PartitionStat,
    PhasePlan,
    PhaseResult,
    ProgressEvent,
    QueryResult,
    RefInfo,
    ScanPlan,
    SchemaVersion,
    Series,
    ServiceState,
    ServiceStatus,
    SnapshotDiff,
    SnapshotInfo,
    SnapshotRef,
    TableDetail,
    TableRef,
    TaskResult,
    TaskSpec,
)
from lakehouse_core.ports import NULL_PROGRESS, Backend, CancelToken, ProgressSink

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HANG_TIMEOUT_S = 30.0


@dataclass
class Gate:
    """Makes named calls hang or raise; records every call."""

    hang: dict[str, threading.Event] = field(default_factory=dict)
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    entered: dict[str, threading.Event] = field(default_factory=dict)

    def check(self, name: str) -> None:
        self.calls.append(name)
        self.entered.setdefault(name, threading.Event()).set()
        if name in self.fail:
            raise self.fail[name]
        event = self.hang.get(name)
        if event is not None:
            event.wait(HANG_TIMEOUT_S)

    def release(self) -> None:
        for event in self.hang.values():
            event.set()


# ------------------------------------------------------------------ status
class FakeStatusProvider:
    supports_control = False

    def __init__(self, gate: Gate) -> None:
        self.gate = gate

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
        raise LakehouseError("service control is not supported in embedded mode")

    def logs(self, service: str, lines: int = 100) -> list[str]:
        return []


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
            error=error,
        )

    def last_results(self) -> dict[int, PhaseResult]:
        self.gate.check("last_results")
        return dict(self._results)


# ------------------------------------------------------------------ catalog
ORDER_FIELDS = (
    FieldInfo(1, "order_id", "long", True),
    FieldInfo(2, "customer_id", "long"),
    FieldInfo(3, "product_id", "long"),
    FieldInfo(4, "order_date", "date"),
    FieldInfo(5, "quantity", "long"),
    FieldInfo(6, "total_amount", "decimal(12, 2)"),
    FieldInfo(7, "status", "string"),
    FieldInfo(8, "payment_method", "string"),
)
TABLES: dict[Namespace, tuple[str, ...]] = {
    ("bronze",): ("customers", "orders", "products"),
    ("gold",): ("daily_sales", "regional_sales"),
    ("silver",): ("orders_enriched",),
}
ORDER_SNAPSHOTS = (
    SnapshotInfo(
        3001, None, T0, "append", {"added-records": "5000", "added-data-files": "4", "total-records": "5000"}
    ),
    SnapshotInfo(
        3002,
        3001,
        T0 + timedelta(hours=1),
        "overwrite",
        {
            "added-records": "4990",
            "deleted-records": "5000",
            "added-data-files": "4",
            "deleted-data-files": "4",
            "total-records": "4990",
        },
    ),
    SnapshotInfo(
        3003,
        3002,
        T0 + timedelta(hours=2),
        "append",
        {"added-records": "1000", "added-data-files": "1", "total-records": "5990"},
    ),
)


def order_row(i: int, snapshot_id: int) -> tuple[Any, ...]:
    status = "pending" if snapshot_id == 3001 else "completed"
    return (
        i,
        1 + i % 1000,
        1 + i % 200,
        T0.date() + timedelta(days=i % 28),
        1 + i % 3,
        Decimal(10 + i % 90) + Decimal("0.99"),
        status,
        "PayPal",
    )


class FakeCatalog:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.refs: list[RefInfo] = [
            RefInfo("main", "branch", "3003", is_default=True),
            RefInfo("audit", "tag", "3001", table="bronze.orders"),
        ]
        self.preview_calls: list[tuple[str, int | None]] = []

    def _known(self, table: TableRef) -> None:
        if table.name not in TABLES.get(table.namespace, ()):
            raise NotFoundError(f"table {table.identifier} does not exist")

    def _snapshots(self, table: TableRef) -> tuple[SnapshotInfo, ...]:
        if table.identifier == "bronze.orders":
            return ORDER_SNAPSHOTS
        seed = 4000 + 10 * sorted(n for names in TABLES.values() for n in names).index(table.name)
        return (
            SnapshotInfo(
                seed,
                None,
                T0,
                "append",
                {"added-records": "100", "added-data-files": "1", "total-records": "100"},
            ),
        )

    def list_refs(self, table: TableRef | None = None) -> list[RefInfo]:
        self.gate.check("list_refs")
        return list(self.refs)

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        table: TableRef | None = None,
        snapshot_id: int | None = None,
        from_ref: str | None = None,
    ) -> RefInfo:
        self.gate.check("create_ref")
        if any(r.name == name for r in self.refs):
            raise ConflictError(f"ref {name} already exists")
        ref = RefInfo(name, kind, str(snapshot_id or ""), table=table.identifier if table else None)
        self.refs.append(ref)
        return ref

    def list_namespaces(self, ref: str | None = None) -> list[Namespace]:
        self.gate.check("list_namespaces")
        return sorted(TABLES)

    def list_tables(self, namespace: Namespace, ref: str | None = None) -> list[TableRef]:
        self.gate.check("list_tables")
        return [TableRef(namespace, name) for name in TABLES.get(namespace, ())]

    def table_detail(self, table: TableRef, ref: str | None = None) -> TableDetail:
        self.gate.check("table_detail")
        self._known(table)
        snaps = self._snapshots(table)
        return TableDetail(
            table,
            f"file:///data/warehouse/{table.namespace[0]}/{table.name}",
            2,
            snaps[-1].snapshot_id,
            ORDER_FIELDS,
            (PartitionFieldInfo("order_date", "month", "order_date_month"),),
            row_count=snaps[-1].total_rows,
        )

    def snapshots(self, table: TableRef, ref: str | None = None) -> list[SnapshotInfo]:
        self.gate.check("snapshots")
        self._known(table)
        return list(self._snapshots(table))

    def schema_history(self, table: TableRef, ref: str | None = None) -> list[SchemaVersion]:
        self.gate.check("schema_history")
        return [SchemaVersion(0, ORDER_FIELDS[:7]), SchemaVersion(1, ORDER_FIELDS, is_current=True)]

    def partition_stats(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[PartitionStat]:
        self.gate.check("partition_stats")
        return [
            PartitionStat("order_date_month=2026-01", 4990, 4, 181_000),
            PartitionStat("order_date_month=2026-02", 1000, 1, 38_500),
        ]

    def files(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[DataFileInfo]:
        self.gate.check("files")
        return [
            DataFileInfo(
                f"file:///data/warehouse/{table.name}/data/0000{i}.parquet",
                "PARQUET",
                "order_date_month=2026-01",
                1250,
                45_000,
            )
            for i in range(4)
        ]

    def preview(
        self, table: TableRef, snapshot_id: int | None = None, limit: int = 100, ref: str | None = None
    ) -> QueryResult:
        self.gate.check("preview")
        self._known(table)
        snaps = {s.snapshot_id: s for s in self._snapshots(table)}
        snap = snaps[snapshot_id] if snapshot_id is not None else list(snaps.values())[-1]
        self.preview_calls.append((table.identifier, snapshot_id))
        rows = tuple(order_row(i, snap.snapshot_id) for i in range(1, min(limit, snap.total_rows) + 1))
        return QueryResult(
            tuple(f.name for f in ORDER_FIELDS),
            tuple(f.type for f in ORDER_FIELDS),
            rows,
            "fake",
            0.004,
            total_rows=snap.total_rows,
            as_of=AsOf(snapshot_id=snap.snapshot_id),
        )

    def diff_snapshots(
        self, table: TableRef, from_snapshot: int, to_snapshot: int, sample: int = 10
    ) -> SnapshotDiff:
        self.gate.check("diff_snapshots")
        snaps = {s.snapshot_id: s for s in self._snapshots(table)}
        if from_snapshot not in snaps or to_snapshot not in snaps:
            raise NotFoundError(f"snapshot not found in {table.identifier}")
        added = max(0, snaps[to_snapshot].total_rows - snaps[from_snapshot].total_rows)
        removed = max(0, snaps[from_snapshot].total_rows - snaps[to_snapshot].total_rows)
        columns = tuple(f.name for f in ORDER_FIELDS)
        return SnapshotDiff(
            table.identifier,
            from_snapshot,
            to_snapshot,
            added,
            removed,
            columns,
            tuple(order_row(9000 + i, to_snapshot) for i in range(min(sample, added))),
            tuple(order_row(8000 + i, from_snapshot) for i in range(min(sample, removed))),
        )

    def scan_plan(self, table: TableRef, row_filter: str, ref: str | None = None) -> ScanPlan:
        self.gate.check("scan_plan")
        return ScanPlan(table.identifier, row_filter, 5, 1, 1000)


# ------------------------------------------------------------------ sql
DAILY_SALES = (
    (T0.date(), 180, Decimal("9876.50"), 150, Decimal("54.87")),
    (T0.date() + timedelta(days=1), 175, Decimal("9001.25"), 149, Decimal("51.44")),
    (T0.date() + timedelta(days=2), 190, Decimal("10200.00"), 160, Decimal("53.68")),
)


class FakeSqlEngine:
    name = "fake"
    supports_cancel = True

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.calls: list[tuple[str, int | None, AsOf | None]] = []
        self.cancelled = threading.Event()

    def execute(self, sql: str, *, limit: int | None = None, as_of: AsOf | None = None) -> QueryResult:
        self.gate.check("execute")
        self.calls.append((sql, limit, as_of))
        text = " ".join(sql.split()).lower()
        if "sleep" in text:
            self.cancelled.clear()
            if self.cancelled.wait(HANG_TIMEOUT_S):
                raise CancelledError("query cancelled by user")
        if match := re.search(r"range\((\d+)\)", text):
            total = int(match.group(1))
            fetched = total if limit is None else min(total, limit)
            rows = tuple((i, f"row {i}") for i in range(fetched))
            return QueryResult(
                ("i", "label"),
                ("BIGINT", "VARCHAR"),
                rows,
                "fake",
                0.012,
                truncated=fetched < total,
                total_rows=total,
                sql=sql,
                as_of=as_of,
            )
        if text.startswith("selec ") or not text.startswith(("select", "with")):
            raise QueryError(f'Parser Error: syntax error at or near "{sql.split()[0]}"', engine="fake")
        if "gold.daily_sales" in text:
            return QueryResult(
                ("date", "num_orders", "total_revenue", "unique_customers", "avg_order_value"),
                ("DATE", "BIGINT", "DECIMAL(18,2)", "BIGINT", "DECIMAL(18,2)"),
                DAILY_SALES,
                "fake",
                0.012,
                sql=sql,
                as_of=as_of,
            )
        if "bronze.orders" in text:
            snapshot = as_of.snapshot_id if as_of and as_of.snapshot_id else 3003
            rows = tuple(order_row(i, snapshot) for i in range(1, 6))
            return QueryResult(
                tuple(f.name for f in ORDER_FIELDS),
                tuple(f.type for f in ORDER_FIELDS),
                rows,
                "fake",
                0.012,
                sql=sql,
                as_of=as_of,
            )
        table = re.search(r"from\s+([\w.]+)", text)
        name = table.group(1) if table else "?"
        raise QueryError(f"Catalog Error: Table with name {name} does not exist!", engine="fake")

    def cancel(self) -> None:
        self.gate.check("cancel")
        self.cancelled.set()


# ------------------------------------------------------------------ metrics
PANELS = (
    MetricPanel("cpu", "CPU usage", "process_cpu_percent", "%", warn=70, critical=90),
    MetricPanel("memory", "Memory usage", "memory_usage_percent", "%", warn=80, critical=90),
    MetricPanel("rows", "Rows ingested", "rate(lakehouse_rows_ingested_total[1m])", "rows/s"),
    MetricPanel(
        "latency", "Query latency p95", "lakehouse_query_latency_p95_ms", "ms", warn=500, critical=2000
    ),
)
CURVES: Mapping[str, Any] = {
    "process_cpu_percent": lambda i: 20.0 + (i % 10) * 3,
    "memory_usage_percent": lambda i: 62.0 + i * 0.5,
    "rate(lakehouse_rows_ingested_total[1m])": lambda i: float((i * 37) % 400),
    "lakehouse_query_latency_p95_ms": lambda i: 200.0 + i * 7,
}


class FakeMetrics:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.range_calls: list[tuple[str, timedelta, timedelta]] = []

    def panels(self) -> list[MetricPanel]:
        self.gate.check("panels")
        return list(PANELS)

    def instant(self, query: str) -> list[Series]:
        series = self.range(query, window=timedelta(minutes=1), step=timedelta(minutes=1))
        return [Series(s.name, s.labels, s.points[-1:]) for s in series]

    def range(self, query: str, *, window: timedelta, step: timedelta) -> list[Series]:
        self.gate.check("range")
        self.range_calls.append((query, window, step))
        curve = CURVES.get(query)
        if curve is None:
            return []
        count = max(1, min(60, int(window / step)))
        start = T0.timestamp() - window.total_seconds()
        points = tuple((start + i * step.total_seconds(), float(curve(i))) for i in range(count))
        return [Series(query, {"instance": "embedded"}, points)]

    def alerts(self) -> list[AlertState]:
        self.gate.check("alerts")
        return [
            AlertState("HighMemoryUsage", "firing", 91.5, 90.0, "memory usage above 90% for 1m", "critical"),
            AlertState("SlowQueries", "pending", 613.0, 500.0, "p95 query latency above 500 ms", "warning"),
            AlertState("PhaseFailed", "ok", 0.0, 1.0, "no failed phase", "critical"),
        ]


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
    return FakeBackend(
        "embedded",
        FakeStatusProvider(gate),
        FakeCatalog(gate),
        FakeSqlEngine(gate),
        FakeMetrics(gate),
        FakePhaseRunner(gate, orders, chunk, delay_s),
        gate,
    )
