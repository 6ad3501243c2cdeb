"""Messages that carry worker results back to the UI thread (past tense, plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker

if TYPE_CHECKING:  # annotations only: importing the models (~20 ms of dataclasses) waits for the backend
    from lakehouse_core.models import (
        AlertState,
        CommitInfo,
        ComposeServiceState,
        DagRunInfo,
        DataFileInfo,
        MaintenanceReport,
        MergeResult,
        MetricPanel,
        PartitionStat,
        PhasePlan,
        PhaseResult,
        ProgressEvent,
        PublishPreview,
        QueryResult,
        RefInfo,
        RunInfo,
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
    from lakehouse_core.ports import Backend
    from lakehouse_core.report import BusinessReport
    from lakehouse_core.settings import LakehouseSettings


@dataclass
class WorkerFailed(Message, bubble=False):
    """A worker raised; the App turns this into one error notification."""

    worker: Worker[Any]
    error: BaseException


@dataclass
class BackendReady(Message, bubble=False):
    """The backend factory returned: the App can show its screens."""

    backend: Backend
    settings: LakehouseSettings


@dataclass
class BackendFailed(Message, bubble=False):
    """The backend factory raised (bad settings, missing extra, catalog error...)."""

    error: BaseException


@dataclass
class StatusesLoaded(Message, bubble=False):
    """The service table was probed."""

    statuses: list[ServiceStatus]


@dataclass
class ServiceControlled(Message, bubble=False):
    """A start/stop/restart of one service returned."""

    service: str
    action: str


@dataclass
class ServicesSetUp(Message, bubble=False):
    """``Backend.setup`` returned: one step per thing created or already there."""

    steps: list[SetupStep]


@dataclass
class ServiceLogsLoaded(Message, bubble=False):
    """The last log lines of one service."""

    service: str
    lines: list[str]


@dataclass
class LastResultsLoaded(Message, bubble=False):
    """The persisted last result per phase was read; ``has_tables``: whether the catalog holds a table
    (None when it could not be asked)."""

    results: dict[int, PhaseResult]
    has_tables: bool | None = None


@dataclass
class PhasePlanLoaded(Message, bubble=False):
    """A phase plan is ready for the confirmation dialog."""

    plan: PhasePlan


@dataclass
class PhaseProgress(Message, bubble=False):
    """One progress event of a running phase; consecutive advances of one task coalesce."""

    event: ProgressEvent

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, PhaseProgress)
            and self.event.kind == "advance"
            and message.event.kind == "advance"
            and message.event.task == self.event.task
        )


@dataclass
class PhaseFinished(Message, bubble=False):
    """A phase run ended: ``result`` is the full or partial result, ``error`` the text to show
    ("phase N failed: …", "cancelled by user")."""

    phase: int
    result: PhaseResult | None
    error: str | None = None
    cancelled: bool = False


@dataclass
class CatalogChildrenLoaded(Message, bubble=False):
    """Children of one catalog tree node were listed."""

    node: Any  # the textual TreeNode to fill (only touched on the UI thread)
    generation: int  # the tree's generation when the load started (stale loads are dropped)
    children: list[tuple[str, Any, bool]]  # (label, node data, expandable)


@dataclass
class TableLoaded(Message, bubble=False):
    """Everything the catalog screen shows about one table."""

    table: TableRef
    ref: str | None
    detail: TableDetail
    snapshots: list[SnapshotInfo]
    schemas: list[SchemaVersion]
    partitions: list[PartitionStat]
    files: list[DataFileInfo]


@dataclass
class PreviewLoaded(Message, bubble=False):
    """Rows of a table as of a snapshot."""

    table: TableRef
    snapshot_id: int | None
    result: QueryResult


@dataclass
class DiffLoaded(Message, bubble=False):
    """Two snapshots were compared."""

    diff: SnapshotDiff


@dataclass
class RefCreated(Message, bubble=False):
    """A branch or tag was created."""

    ref: RefInfo


@dataclass
class QueryFinished(Message, bubble=False):
    """A SQL statement returned rows."""

    result: QueryResult


@dataclass
class QueryPreviewed(Message, bubble=False):
    """The first rows of a statement from the engine's cursor; the engine is still reading the rest."""

    result: QueryResult


@dataclass
class QueryFailed(Message, bubble=False):
    """A SQL statement failed; ``message`` is the engine's own text."""

    sql: str
    message: str
    elapsed_s: float
    cancelled: bool = False


@dataclass
class MetricsLoaded(Message, bubble=False):
    """One refresh of every metric panel and alert."""

    panels: list[MetricPanel]
    series: dict[str, list[Series]]
    alerts: list[AlertState]
    window_s: int = field(default=300)


@dataclass
class MaintenancePlanned(Message, bubble=False):
    """``Backend.maintenance.plan`` returned: the dry run to confirm."""

    report: MaintenanceReport


@dataclass
class MaintenanceDone(Message, bubble=False):
    """``Backend.maintenance.run`` returned."""

    report: MaintenanceReport


@dataclass
class RunsLoaded(Message, bubble=False):
    """The runs of phases 1-2 (newest first)."""

    runs: list[RunInfo]


@dataclass
class RunPreviewLoaded(Message, bubble=False):
    """One run with what publishing it would change."""

    run: RunInfo
    preview: PublishPreview


@dataclass
class RunChanged(Message, bubble=False):
    """A run was published or discarded."""

    run: RunInfo
    action: str


@dataclass
class ReportLoaded(Message, bubble=False):
    """Phase 3's last result as a report (None: phase 3 has not run)."""

    report: BusinessReport | None


@dataclass
class NessieRefsLoaded(Message, bubble=False):
    """Nessie's branches and tags (default branch first)."""

    refs: list[RefInfo]


@dataclass
class CommitLogLoaded(Message, bubble=False):
    """The newest commits of one Nessie ref."""

    ref: str
    commits: list[CommitInfo]


@dataclass
class MergePreviewed(Message, bubble=False):
    """A merge's dry run (tables changed, conflicts), or the merge itself when ``result.applied``."""

    result: MergeResult


@dataclass
class RefDeleted(Message, bubble=False):
    """A Nessie branch or tag was deleted."""

    ref: RefInfo


@dataclass
class DagRunsLoaded(Message, bubble=False):
    """The phase-1 DAG's recent runs (newest first)."""

    runs: list[DagRunInfo]


@dataclass
class DagTasksLoaded(Message, bubble=False):
    """The task instances of one DAG run, in the DAG's order."""

    run_id: str
    tasks: list[TaskInstanceInfo]


@dataclass
class TaskLogLoaded(Message, bubble=False):
    """The lines of one try of one task's log."""

    run_id: str
    task_id: str
    try_number: int
    lines: list[str]


@dataclass
class ComposeServicesLoaded(Message, bubble=False):
    """The Compose stack's services were read (``error`` says why not)."""

    services: list[ComposeServiceState]
    error: str | None = None


@dataclass
class StackUpFinished(Message, bubble=False):
    """``stack up`` returned: ``error`` None when every service is up."""

    error: str | None = None
    cancelled: bool = False


@dataclass
class ServiceLogLines(Message, bubble=False):
    """New lines of a followed service log."""

    service: str
    lines: list[str]
