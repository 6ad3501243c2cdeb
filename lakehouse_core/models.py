"""Plain frozen dataclasses that cross the core/UI boundary. No I/O; the one third-party type is the
``pyarrow.Table`` of a query result."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pyarrow is imported by whoever builds a result, not by importing the models
    import pyarrow as pa

Namespace = tuple[str, ...]


# ---------------------------------------------------------------- services
class ServiceState(enum.StrEnum):
    """Health of one service or in-process component."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    BLOCKED = "blocked"  # a dependency is down; its own probe is not meaningful
    UNKNOWN = "unknown"
    NOT_CONFIGURED = "not configured"  # not part of this stack (no URL set): not probed, not down
    DISABLED = "disabled"  # configured but turned off in the settings: not probed, not down

    @property
    def counts_as_down(self) -> bool:
        """What ``lakehouse status --strict`` and the Overview count as a service down."""
        return self in (ServiceState.DOWN, ServiceState.BLOCKED)


@dataclass(frozen=True)
class ServiceStatus:
    """One row of the service table."""

    name: str
    state: ServiceState
    endpoint: str = ""
    latency_ms: float | None = None
    detail: str = ""
    last_error: str | None = None
    depends_on: tuple[str, ...] = ()
    blocked_by: str | None = None
    kind: str = "http"  # http | process | container | in-process
    container: str | None = None  # container name when Docker knows it
    checked_at: datetime | None = None
    needs_setup: bool = False
    """The service answers but is not set up (``Backend.setup`` creates what it lacks)."""
    managed_by: str | None = None
    """What starts and stops a service that is in no container (``scripts/services.sh``)."""


@dataclass(frozen=True)
class ComposeServiceState:
    """One service of the Compose project: its container's state and health, and what blocks it."""

    name: str
    state: str
    """running | exited | created | paused | restarting | dead, or ``not created``."""
    health: str | None = None
    """healthy | unhealthy | starting; None when the container has no healthcheck (or is not running)."""
    ports: tuple[str, ...] = ()
    """Published ports, ``host_ip:port->target/proto`` (from the container, else the Compose file)."""
    depends_on: tuple[str, ...] = ()
    blocked_by: str | None = None
    """The dependency whose ``depends_on`` condition does not hold now (not healthy, not running...)."""
    status: str = ""
    """Compose's status line, e.g. ``Up 3 minutes (healthy)`` or ``Exited (0) 5 seconds ago``."""
    exit_code: int | None = None
    container: str | None = None

    @property
    def ready(self) -> bool:
        """Running and healthy (or running without a healthcheck)."""
        return self.state == "running" and self.health in (None, "healthy")


@dataclass(frozen=True)
class SetupStep:
    """One thing a set-up made sure of: ``created`` now, or already there."""

    service: str
    thing: str
    created: bool

    def __str__(self) -> str:
        return f"{self.service}: {self.thing} {'created' if self.created else 'already there'}"


# ---------------------------------------------------------------- phases
@dataclass(frozen=True)
class TaskSpec:
    """One task of a phase, as shown in the confirmation dialog."""

    name: str
    description: str


@dataclass(frozen=True)
class PhasePlan:
    """Exactly what running a phase will do (shown before the user confirms)."""

    phase: int
    title: str
    tasks: tuple[TaskSpec, ...]
    details: tuple[str, ...] = ()  # e.g. "orders: 5,000 (seed 42)", "catalog: sqlite:///..."


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of one task; ``kind`` is start | advance | finish | log."""

    phase: int
    task: str
    kind: Literal["start", "advance", "finish", "log"]
    done: int = 0
    total: int | None = None
    message: str = ""


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one task."""

    name: str
    seconds: float
    rows: Mapping[str, int] = field(default_factory=dict)  # e.g. {"bronze.orders": 5000}
    detail: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot produced by a run."""

    table: str
    snapshot_id: int
    operation: str = ""


@dataclass(frozen=True)
class PhaseResult:
    """Outcome of one phase run."""

    phase: int
    ok: bool
    run_id: str
    started_at: datetime
    seconds: float
    tasks: tuple[TaskResult, ...] = ()
    rows_per_layer: Mapping[str, int] = field(default_factory=dict)
    quality_failures: int = 0
    snapshots: tuple[SnapshotRef, ...] = ()
    outputs: Mapping[str, Any] = field(default_factory=dict)  # phase 3 query results, phase 4 alerts...
    error: str | None = None


# ---------------------------------------------------------------- catalog
@dataclass(frozen=True)
class RefInfo:
    """A branch or tag (Nessie: catalog-wide; embedded: Iceberg refs of tables)."""

    name: str
    kind: Literal["branch", "tag"]
    hash: str = ""  # Nessie commit hash, or the snapshot id as text in embedded mode
    table: str | None = None  # embedded refs belong to one table
    is_default: bool = False


@dataclass(frozen=True)
class CommitInfo:
    """One commit of a catalog-wide (Nessie) ref's log, newest first in a log."""

    hash: str
    message: str
    author: str = ""
    committer: str = ""
    committed_at: datetime | None = None
    parent_hash: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    tables: tuple[str, ...] = ()  # dotted keys of the tables the commit put or deleted


@dataclass(frozen=True)
class MergeConflict:
    """A key that cannot be merged, with Nessie's reason."""

    key: str
    conflict_type: str
    message: str


@dataclass(frozen=True)
class MergeResult:
    """Outcome (or dry-run preview) of merging ``source`` into ``target``."""

    source: str
    target: str
    dry_run: bool
    applied: bool
    successful: bool
    changed_keys: tuple[str, ...] = ()
    conflicts: tuple[MergeConflict, ...] = ()
    resultant_hash: str | None = None
    common_ancestor: str | None = None

    def change_lines(self) -> list[str]:
        """A count of the tables changed and the conflicts, then each of them, one per line."""
        lines = [f"{len(self.changed_keys)} tables changed, {len(self.conflicts)} conflicts"]
        lines += [f"  changed  {key}" for key in self.changed_keys]
        lines += [f"  CONFLICT {c.key}: {c.conflict_type} {c.message}".rstrip() for c in self.conflicts]
        return lines


@dataclass(frozen=True)
class TableRef:
    """A table identifier."""

    namespace: Namespace
    name: str

    @property
    def identifier(self) -> str:
        return ".".join((*self.namespace, self.name))

    @classmethod
    def parse(cls, text: str) -> TableRef:
        parts = tuple(p for p in text.split(".") if p)
        if len(parts) < 2:
            raise ValueError(f"expected namespace.table, got {text!r}")
        return cls(parts[:-1], parts[-1])


@dataclass(frozen=True)
class FieldInfo:
    """A schema column."""

    field_id: int
    name: str
    type: str
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class SchemaVersion:
    """One schema of a table's history."""

    schema_id: int
    fields: tuple[FieldInfo, ...]
    is_current: bool = False


@dataclass(frozen=True)
class PartitionFieldInfo:
    """One field of a partition spec."""

    source: str
    transform: str
    name: str


@dataclass(frozen=True)
class SnapshotInfo:
    """A table snapshot."""

    snapshot_id: int
    parent_id: int | None
    committed_at: datetime
    operation: str
    summary: Mapping[str, str] = field(default_factory=dict)

    def _int(self, key: str) -> int:
        try:
            return int(self.summary.get(key, 0))
        except (TypeError, ValueError):
            return 0

    @property
    def added_rows(self) -> int:
        return self._int("added-records")

    @property
    def deleted_rows(self) -> int:
        return self._int("deleted-records")

    @property
    def added_files(self) -> int:
        return self._int("added-data-files")

    @property
    def deleted_files(self) -> int:
        return self._int("deleted-data-files")

    @property
    def total_rows(self) -> int:
        """Live rows: records of the data files minus their position deletes (merge-on-read)."""
        return self._int("total-records") - self._int("total-position-deletes")


@dataclass(frozen=True)
class PartitionStat:
    """Statistics of one partition."""

    partition: str
    record_count: int
    file_count: int
    size_bytes: int


@dataclass(frozen=True)
class DataFileInfo:
    """One data file of a table snapshot."""

    path: str
    file_format: str
    partition: str
    record_count: int
    size_bytes: int


@dataclass(frozen=True)
class TableDetail:
    """Everything the catalog screen shows about a table."""

    table: TableRef
    location: str
    format_version: int
    current_snapshot_id: int | None
    fields: tuple[FieldInfo, ...]
    partition_spec: tuple[PartitionFieldInfo, ...]
    properties: Mapping[str, str] = field(default_factory=dict)
    row_count: int = 0
    metadata_location: str = ""


@dataclass(frozen=True)
class ScanPlan:
    """What a filtered scan reads (partition pruning)."""

    table: str
    filter: str
    files_total: int
    files_scanned: int
    rows_scanned: int


# ---------------------------------------------------------------- SQL
_DATE_LIKE = re.compile(r"^[+-]?\d{4,}-\d{1,2}(-\d{1,2})?([ T]|$)")
"""Text that was meant as a date (``2020-13-01``): an error, not a ref name."""
_INT64_MAX = 2**63 - 1


def _is_snapshot_id(text: str) -> bool:
    """Iceberg snapshot ids are positive int64s, written without leading zeros."""
    return text.isdigit() and text.isascii() and not text.startswith("0") and int(text) <= _INT64_MAX


@dataclass(frozen=True)
class AsOf:
    """Run a query against an older version: a ref, a snapshot id or a point in time."""

    ref: str | None = None
    snapshot_id: int | None = None
    timestamp: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> AsOf | None:
        """What a user typed (TUI as-of field, ``lakehouse sql --as-of``): ``""`` -> current; digits ->
        snapshot id; an ISO date/time (``2026-01-01``, ``2026-01-01T12:00:00+02:00``; naive = UTC) ->
        point in time; anything else -> ref name (branch, tag or commit hash).

        ``ref:<name>`` and ``snapshot:<id>`` say which is meant. Digits that cannot be a snapshot id
        (a leading zero, more than an int64) are a commit hash. Raises ValueError with one line for a
        date that does not exist (``2020-13-01``) and a ``snapshot:`` that is not a snapshot id."""
        value = text.strip()
        if not value:
            return None
        kind, sep, rest = value.partition(":")
        if sep and kind.lower() == "ref":
            if not rest.strip():
                raise ValueError("as-of 'ref:' names no ref")
            return cls(ref=rest.strip())
        if sep and kind.lower() == "snapshot":
            if not _is_snapshot_id(rest.strip()):
                raise ValueError(f"as-of {value!r}: a snapshot id is a positive whole number")
            return cls(snapshot_id=int(rest.strip()))
        if _is_snapshot_id(value):
            return cls(snapshot_id=int(value))
        try:
            return cls(timestamp=datetime.fromisoformat(value))
        except ValueError as exc:
            if _DATE_LIKE.match(value):
                raise ValueError(
                    f"as-of {value!r} is not a valid date or time ({exc}); a ref of that name is ref:{value}"
                ) from None
            return cls(ref=value)

    def text(self) -> str:
        """What a user would type for this as-of (``parse`` reads it back), ref left out unless alone."""
        if self.snapshot_id is not None:
            return str(self.snapshot_id)
        if self.timestamp is not None:
            return self.timestamp.isoformat()
        if not self.ref:
            return ""
        plain = AsOf._parse_quietly(self.ref)
        return self.ref if plain is not None and plain.ref == self.ref else f"ref:{self.ref}"

    @classmethod
    def _parse_quietly(cls, text: str) -> AsOf | None:
        try:
            return cls.parse(text)
        except ValueError:
            return None

    def describe(self) -> str:
        """``snapshot 12``, ``as of <ISO time>``, ``ref etl``, ``snapshot 12 on etl`` or ``current``."""
        if self.snapshot_id is not None:
            text = f"snapshot {self.snapshot_id}"
        elif self.timestamp is not None:
            text = f"as of {self.timestamp.isoformat()}"
        else:
            return f"ref {self.ref}" if self.ref else "current"
        return f"{text} on {self.ref}" if self.ref else text


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query as an Arrow table with the engine's column types. ``truncated`` says the fetch
    limit cut the result; ``types`` are the engine's own type names (e.g. ``DECIMAL(18,2)``)."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    table: pa.Table
    engine: str
    elapsed_s: float
    truncated: bool = False
    total_rows: int | None = None  # when the engine knows it
    sql: str = ""
    as_of: AsOf | None = None

    @property
    def row_count(self) -> int:
        return int(self.table.num_rows)

    def tuples(self, limit: int | None = None) -> tuple[tuple[Any, ...], ...]:
        """The first ``limit`` rows (all when None) as Python tuples, for small consumers (CLI, reports)."""
        part = self.table if limit is None else self.table.slice(0, limit)
        return tuple(zip(*(column.to_pylist() for column in part.columns), strict=True))


@dataclass(frozen=True)
class QueryComparison:
    """One statement run at two versions (e.g. two Nessie refs) and the rows that differ.

    ``left_only``/``right_only``: indices of the rows of one result with no equal row in the other
    (rows compared on ``columns``, the columns both results have; a row repeated n times on one side
    and m < n times on the other differs n - m times)."""

    left: QueryResult
    right: QueryResult
    left_only: tuple[int, ...]
    right_only: tuple[int, ...]
    columns: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.left_only and not self.right_only


@dataclass(frozen=True)
class SnapshotDiff:
    """Rows added and removed between two snapshots of one table."""

    table: str
    from_snapshot: int
    to_snapshot: int
    added_count: int
    removed_count: int
    columns: tuple[str, ...]
    added_sample: tuple[tuple[Any, ...], ...] = ()
    removed_sample: tuple[tuple[Any, ...], ...] = ()


# ---------------------------------------------------------------- metrics
@dataclass(frozen=True)
class Series:
    """One time series: label set and (unix seconds, value) points."""

    name: str
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


@dataclass(frozen=True)
class MetricPanel:
    """A chart the metrics screen draws."""

    panel_id: str
    title: str
    query: str
    unit: str = ""
    """The unit of the series and thresholds (a name in ``lakehouse_core.units.UNITS``)."""
    warn: float | None = None
    critical: float | None = None
    absent: str = ""
    """What the chart says for a panel of a service this mode does not run (e.g. Spark in embedded
    mode), instead of "no data"; empty for the panels of this mode."""


@dataclass(frozen=True)
class AlertState:
    """An alert rule's evaluation."""

    name: str
    state: Literal["ok", "pending", "firing"]
    value: float | None
    threshold: float
    message: str = ""
    severity: Literal["warning", "critical"] = "warning"
    unit: str = ""
    """The unit of ``value`` and ``threshold`` (a name in ``lakehouse_core.units.UNITS``)."""


# ---------------------------------------------------------------- table maintenance
@dataclass(frozen=True)
class TableMaintenanceResult:
    """What maintenance did (or, in a dry run, would do) to one table."""

    table: str
    snapshots_expired: int = 0
    snapshots_kept: int = 0
    files_removed: int = 0
    """Files only expired snapshots (or dropped metadata versions) referenced."""
    bytes_removed: int = 0
    orphans_removed: int = 0
    """Files no retained snapshot or metadata version references, older than the safety window."""
    orphan_bytes: int = 0
    orphans_too_young: int = 0
    """Unreferenced files inside the safety window (possibly an in-flight write): kept."""
    files_compacted: int = 0
    files_written: int = 0
    partitions_compacted: int = 0

    def describe(self, dry_run: bool) -> str:
        """One line: snapshots expired, files removed (bytes), orphans removed (bytes), compaction."""
        verb = "would be " if dry_run else ""
        line = (
            f"{self.snapshots_expired} snapshots {verb}expired, {self.files_removed} released files "
            f"({_size(self.bytes_removed)}) and {self.orphans_removed} orphans ({_size(self.orphan_bytes)}) "
            f"{verb}removed, {self.files_compacted} small files {verb}compacted into {self.files_written}"
        )
        young = self.orphans_too_young
        return line + (f"; {young} recent unreferenced files kept" if young else "")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@dataclass(frozen=True)
class MaintenanceReport:
    """Maintenance of every table asked for; ``dry_run`` says nothing was changed."""

    dry_run: bool
    tables: tuple[TableMaintenanceResult, ...] = ()

    def total(self, name: str) -> int:
        """Sum of one integer field of TableMaintenanceResult over the tables."""
        return sum(int(getattr(t, name)) for t in self.tables)

    def totals(self) -> TableMaintenanceResult:
        """Every count summed over the tables (``table`` is "total")."""
        names = [f.name for f in fields(TableMaintenanceResult) if f.type in ("int", int)]
        return TableMaintenanceResult("total", **{n: self.total(n) for n in names})  # type: ignore[arg-type]

    @property
    def changes_anything(self) -> bool:
        return any(
            self.total(n)
            for n in ("snapshots_expired", "files_removed", "orphans_removed", "files_compacted")
        )


MaintenancePlan = MaintenanceReport
"""A dry-run report: what ``TableMaintenance.run`` would do."""


# ---------------------------------------------------------------- runs (write, audit, publish)
RunState = Literal[
    "running", "failed", "cancelled", "interrupted", "audit_failed", "audited", "published", "discarded",
    "unchanged",
]
"""``audited``: passed its audits, waiting for ``publish``; ``interrupted``: its process died;
``unchanged``: a phase-2 rerun on the data already published, which committed nothing."""


@dataclass(frozen=True)
class AuditCheck:
    """One named audit of a run's isolated outputs."""

    name: str
    ok: bool
    detail: str = ""
    numbers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunTable:
    """One output of a run: a Parquet layer (phase 1) or an Iceberg table (phase 2)."""

    table: str
    rows: int
    snapshot_id: int | None = None
    commit: str = ""
    """Where the output lives: a staged metadata file (embedded) or a Nessie commit hash (stack)."""


@dataclass(frozen=True)
class RunInfo:
    """One run as ``lakehouse runs`` and the Runs screen show it."""

    run_id: str
    phase: int
    state: RunState
    started_at: datetime
    finished_at: datetime | None = None
    audits: tuple[AuditCheck, ...] = ()
    tables: tuple[RunTable, ...] = ()
    source_run: str | None = None
    """Phase 2: the phase-1 run whose outputs it loaded."""
    published: bool = False
    """What readers see now comes from this run."""
    error: str | None = None

    @property
    def audit_summary(self) -> str:
        if not self.audits:
            return "-"
        failed = [a.name for a in self.audits if not a.ok]
        return f"{len(self.audits) - len(failed)}/{len(self.audits)} ok" + (
            f" (failed: {', '.join(failed)})" if failed else ""
        )


@dataclass(frozen=True)
class TableDelta:
    """One table of a publish preview: rows readers see now and after publishing."""

    table: str
    published_rows: int | None
    run_rows: int

    @property
    def delta(self) -> int:
        return self.run_rows - (self.published_rows or 0)


@dataclass(frozen=True)
class PublishPreview:
    """What publishing a run would change."""

    run_id: str
    phase: int
    tables: tuple[TableDelta, ...]
    publishable: bool
    reason: str = ""


@dataclass(frozen=True)
class DagRunInfo:
    """One run of the orchestrator's phase-1 DAG (Airflow's DAG run)."""

    dag_id: str
    run_id: str
    state: str
    """queued | running | success | failed"""
    run_type: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    conf: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskInstanceInfo:
    """One task of a DAG run: its state (Airflow's task states: success, running, failed,
    up_for_retry, upstream_failed, queued, scheduled, none...) and its latest try."""

    task_id: str
    state: str
    try_number: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
