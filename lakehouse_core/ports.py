"""One Protocol per capability, the Backend bundle, progress sinks and cancellation.

Every implementation (embedded, stack) satisfies these; the TUI and CLI use nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol, runtime_checkable

from lakehouse_core.errors import CancelledError
from lakehouse_core.models import (
    AlertState,
    AsOf,
    CommitInfo,
    ComposeServiceState,
    DagRunInfo,
    DataFileInfo,
    MaintenanceReport,
    MergeResult,
    MetricPanel,
    Namespace,
    PartitionStat,
    PhasePlan,
    PhaseResult,
    ProgressEvent,
    PublishPreview,
    QueryComparison,
    QueryResult,
    RefInfo,
    RunInfo,
    ScanPlan,
    SchemaVersion,
    Series,
    ServiceStatus,
    SetupStep,
    SnapshotDiff,
    SnapshotInfo,
    TableDetail,
    TableRef,
    TaskInstanceInfo,
)


# ---------------------------------------------------------------- progress + cancel
class ProgressSink(Protocol):
    """Receives progress events from long work; must be cheap and thread-safe."""

    def emit(self, event: ProgressEvent) -> None: ...


class NullProgress:
    """Drops every event."""

    def emit(self, event: ProgressEvent) -> None:
        return None


NULL_PROGRESS: ProgressSink = NullProgress()


class CancelToken:
    """Cooperative cancellation shared between the caller and the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise CancelledError when cancellation was requested."""
        if self._event.is_set():
            raise CancelledError("cancelled by user")


# ---------------------------------------------------------------- capabilities
@runtime_checkable
class ServiceStatusProvider(Protocol):
    """Health of every service (stack) or in-process component (embedded)."""

    supports_control: bool

    def statuses(self) -> list[ServiceStatus]:
        """Probe every service. A dead service is a DOWN row with its cause, never an exception."""
        ...

    def control(self, service: str, action: Literal["start", "stop", "restart"]) -> None:
        """Start/stop/restart a service's container. Raises LakehouseError when unsupported."""
        ...

    def logs(self, service: str, lines: int = 100) -> list[str]:
        """Last log lines of a service (empty when not available)."""
        ...

    def compose_services(self) -> list[ComposeServiceState]:
        """Every service of the Compose stack: state, health, ports, what blocks it.

        Raises:
            LakehouseError: this mode has no Compose stack, or its file or binary is missing.
            ServiceUnavailableError: no Docker engine answers.
        """
        ...

    def stack_up(self, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None) -> None:
        """Build, start and wait for every service of the Compose stack; each step a progress event
        (``phase`` 0). Raises LakehouseError when Compose fails, CancelledError when cancelled."""
        ...

    def follow_logs(self, service: str, cancel: CancelToken, lines: int = 100) -> Iterator[str]:
        """The last ``lines`` of a service's log, then new lines as they come, until ``cancel``."""
        ...


@runtime_checkable
class PhaseRunner(Protocol):
    """Runs the four phases of the platform."""

    def plan(self, phase: int) -> PhasePlan:
        """Describe exactly what ``run(phase)`` will do."""
        ...

    def run(
        self,
        phase: int,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> PhaseResult:
        """Run one phase (1..4).

        Raises:
            PhaseFailed: a task failed; ``partial`` holds what completed.
            CancelledError: ``cancel`` was triggered.
        """
        ...

    def last_results(self) -> dict[int, PhaseResult]:
        """The most recent result per phase (persisted across processes)."""
        ...


@runtime_checkable
class CatalogBrowser(Protocol):
    """Refs, namespaces, tables, snapshots and files of the Iceberg catalog."""

    def list_refs(self, table: TableRef | None = None) -> list[RefInfo]:
        """Branches and tags (catalog-wide in Nessie; of ``table``, or all tables, when embedded)."""
        ...

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        table: TableRef | None = None,
        snapshot_id: int | None = None,
        from_ref: str | None = None,
    ) -> RefInfo:
        """Create a branch/tag at a snapshot (embedded) or from a ref (Nessie)."""
        ...

    def list_namespaces(self, ref: str | None = None) -> list[Namespace]: ...

    def list_tables(self, namespace: Namespace, ref: str | None = None) -> list[TableRef]: ...

    def table_detail(self, table: TableRef, ref: str | None = None) -> TableDetail: ...

    def snapshots(self, table: TableRef, ref: str | None = None) -> list[SnapshotInfo]:
        """Snapshots, oldest first."""
        ...

    def schema_history(self, table: TableRef, ref: str | None = None) -> list[SchemaVersion]: ...

    def partition_stats(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[PartitionStat]: ...

    def files(
        self, table: TableRef, snapshot_id: int | None = None, ref: str | None = None
    ) -> list[DataFileInfo]: ...

    def preview(
        self, table: TableRef, snapshot_id: int | None = None, limit: int = 100, ref: str | None = None
    ) -> QueryResult:
        """First rows of the table as of a snapshot (current when None)."""
        ...

    def diff_snapshots(
        self, table: TableRef, from_snapshot: int, to_snapshot: int, sample: int = 10
    ) -> SnapshotDiff:
        """Rows added/removed between two snapshots, with counts and samples."""
        ...

    def scan_plan(self, table: TableRef, row_filter: str, ref: str | None = None) -> ScanPlan:
        """Files a filtered scan reads after partition pruning (``row_filter`` in pyiceberg syntax)."""
        ...


FirstPageCallback = Callable[[QueryResult], None]
"""Receives the first rows of a result while the engine reads the rest (see ``SqlEngine.execute``)."""


@runtime_checkable
class SqlEngine(Protocol):
    """Runs SQL over the lakehouse tables (``namespace.table`` names)."""

    supports_cancel: bool

    @property
    def name(self) -> str:
        """The engine's name, as results and messages show it."""
        ...

    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        """Run one statement once; at most ``limit`` rows are fetched (``truncated`` says when cut).

        The result's ``table`` is Arrow with the engine's column types. ``on_first_page`` is called at
        most once, in the executing thread, with the rows the engine's cursor gave first (a partial
        QueryResult, ``truncated`` set) while the rest of the same execution is still being read; it is
        not called when the first rows are the whole result. ``cancel()`` interrupts the execution
        before or after the first page.

        Raises:
            QueryError: with the engine's own message.
            CancelledError: ``cancel()`` interrupted the statement.
        """
        ...

    def cancel(self) -> None:
        """Cancel the running query (no-op when nothing runs)."""
        ...


@runtime_checkable
class QueryComparer(Protocol):
    """Runs one statement at two versions (two refs, snapshots or times) and finds the rows that differ."""

    def compare(
        self,
        sql: str,
        left: AsOf | None,
        right: AsOf | None,
        *,
        limit: int | None = None,
        cancel: CancelToken | None = None,
    ) -> QueryComparison:
        """Run ``sql`` as of ``left`` then as of ``right`` (at most ``limit`` rows each) and diff them.

        Raises:
            QueryError: either run failed (the engine's message).
            CancelledError: ``cancel`` was triggered, or the engine's ``cancel()`` interrupted a run.
        """
        ...


@runtime_checkable
class MetricsSource(Protocol):
    """Instant and range series, panels to draw, alert evaluation."""

    def panels(self) -> list[MetricPanel]: ...

    def instant(self, query: str) -> list[Series]: ...

    def range(self, query: str, *, window: timedelta, step: timedelta) -> list[Series]: ...

    def alerts(self) -> list[AlertState]: ...


@runtime_checkable
class ServiceSetup(Protocol):
    """One-time set-up of services that answer but are not ready (e.g. Dremio's first user)."""

    def setup(self) -> list[SetupStep]:
        """Create what is missing, leave what exists; one step per thing, in order.

        Raises:
            ServiceUnavailableError: a service to set up does not answer.
            LakehouseError: a service refused the set-up (its own message).
        """
        ...


@runtime_checkable
class TableMaintenance(Protocol):
    """Expire old snapshots, remove orphan files, compact small files (``lakehouse maintain``)."""

    def plan(self, table: TableRef | None = None) -> MaintenanceReport:
        """What ``run`` would do to ``table`` (every table when None); changes nothing (dry run)."""
        ...

    def run(
        self,
        table: TableRef | None = None,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> MaintenanceReport:
        """Maintain ``table`` (every table when None), one table after the other.

        Raises:
            NotFoundError: ``table`` does not exist.
            ConflictError: a table changed while it was maintained (nothing of it was removed).
            CancelledError: ``cancel`` was triggered (tables done so far stay done).
        """
        ...


@runtime_checkable
class RunControl(Protocol):
    """The runs of phases 1 and 2: their audits, what publishing one would change, publish, discard."""

    def list_runs(self) -> list[RunInfo]:
        """Every recorded run, newest first."""
        ...

    def run(self, run_id: str) -> RunInfo:
        """One run (NotFoundError when unknown)."""
        ...

    def preview(self, run_id: str) -> PublishPreview:
        """Its tables with the rows readers see now and after publishing."""
        ...

    def publish(self, run_id: str) -> RunInfo:
        """Publish an audited run atomically (ConflictError when it cannot be)."""
        ...

    def discard(self, run_id: str) -> RunInfo:
        """Drop an unpublished run's outputs; its record stays (state ``discarded``)."""
        ...


@runtime_checkable
class RefControl(Protocol):
    """Catalog-wide branches and tags (Nessie): create from a ref or a commit, delete, merge, log."""

    def list_refs(self) -> list[RefInfo]:
        """Every branch and tag, the default branch first."""
        ...

    def create_ref(
        self,
        name: str,
        kind: Literal["branch", "tag"],
        *,
        from_ref: str | None = None,
        at_hash: str | None = None,
    ) -> RefInfo:
        """Create ``name`` at the head of ``from_ref`` (default branch when None) or at its commit
        ``at_hash``. ConflictError when the name exists, NotFoundError when the source does not."""
        ...

    def delete_ref(self, name: str) -> RefInfo:
        """Delete a branch or tag; returns what was deleted (NotFoundError when missing)."""
        ...

    def merge(self, source: str, target: str | None = None, *, dry_run: bool = False) -> MergeResult:
        """Merge ``source`` into branch ``target`` (default branch when None); ``dry_run`` writes
        nothing and previews the tables changed and the conflicts."""
        ...

    def commit_log(self, ref: str, limit: int = 50) -> list[CommitInfo]:
        """Newest-first commits of ``ref`` with author, message and the tables each touched."""
        ...


class DagRunBrowser(Protocol):
    """The orchestrator's phase-1 DAG (Airflow): its recent runs, their task instances, a task's log."""

    def recent_runs(self, limit: int = 10) -> list[DagRunInfo]:
        """The newest runs first (empty when the DAG was never parsed)."""
        ...

    def task_instances(self, run_id: str) -> list[TaskInstanceInfo]:
        """The run's task instances (latest try each)."""
        ...

    def task_log(self, run_id: str, task_id: str, try_number: int) -> list[str]:
        """The lines of one try's log."""
        ...


@dataclass(frozen=True)
class Backend:
    """Every capability of one mode."""

    mode: Literal["embedded", "stack"]
    status: ServiceStatusProvider
    catalog: CatalogBrowser
    sql: SqlEngine
    metrics: MetricsSource
    phases: PhaseRunner
    setup: ServiceSetup | None = None
    """None when nothing needs a set-up (embedded mode)."""
    maintenance: TableMaintenance | None = None
    """None when the mode cannot maintain its tables."""
    runs: RunControl | None = None
    """Runs of phases 1-2: audits, publish, discard."""
    compare: QueryComparer | None = None
    """One statement on two refs, side by side (None when the mode cannot compare)."""
    refs: RefControl | None = None
    """Catalog-wide branches/tags (Nessie, stack mode); None when refs belong to single tables."""
    dag_runs: DagRunBrowser | None = None
    """The Airflow DAG's runs (stack mode with Airflow configured); None otherwise."""
