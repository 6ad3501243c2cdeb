"""Write, audit, publish: the steps that end phases 1 and 2.

Phase 1 writes into its run directory; ``audit_outputs`` audits it and ``publish_outputs`` switches
``data/current`` to it (or leaves it waiting for ``lakehouse publish``). Phase 2 loads the published
phase-1 run into staged Iceberg snapshots (``RunPublisher.open_write_catalog``: a staging catalog in
embedded mode, a Nessie run branch in stack mode), audits them and publishes every table at once.
Every step records what it did in the run's manifest (``lakehouse_core.runlog``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from lakehouse_core.audits import audit_phase1, audit_phase2, require_passed
from lakehouse_core.errors import DataError
from lakehouse_core.faults import crash_point
from lakehouse_core.models import AuditCheck, SnapshotRef
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.engine import Step, StepOutput
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.publish import current_run, phase1_outputs, publish_phase1, reconcile_phase1
from lakehouse_core.runlog import RunManifests
from lakehouse_core.runmeta import FINGERPRINT_PROPERTY, RunCommit, phase2_fingerprint


def _record_audits(paths: DataPaths, run_id: str, checks: list[AuditCheck], **fields: Any) -> None:
    failed = not all(c.ok for c in checks)
    RunManifests(paths).update(run_id, audits=checks, **({} if failed else {"state": "audited"}), **fields)
    require_passed(checks)


def _summary(checks: list[AuditCheck]) -> str:
    return f"{sum(c.ok for c in checks)}/{len(checks)} audits passed"


# ---------------------------------------------------------------- phase 1
def audit_outputs(paths: DataPaths, run_id: str) -> StepOutput:
    """Audit the run directory; record the audits and its outputs' rows in the manifest."""
    from lakehouse_core.pipeline.incremental import read_plan
    from lakehouse_core.pipeline.parts import table_rows

    increment = read_plan(paths)
    if increment.mode == "unchanged":
        return StepOutput(detail=f"nothing new: {increment.reason}; nothing to audit")
    checks = audit_phase1(paths, run_id)
    tables = {name: {"rows": table_rows(p)} for name, p in phase1_outputs(paths).items()}
    _record_audits(paths, run_id, checks, tables=tables)
    return StepOutput(detail=_summary(checks), outputs={"audits": checks})


def publish_outputs(
    paths: DataPaths, run_id: str, auto_publish: bool = True, keep_runs: int = 5
) -> StepOutput:
    """Make the audited run what readers see (unless publishing waits for ``lakehouse publish``).

    A run with nothing new publishes nothing: ``data/current`` stays, the run is recorded discarded."""
    from lakehouse_core.pipeline.incremental import read_plan
    from lakehouse_core.runlog import RunManifests

    increment = read_plan(paths)
    if increment.mode == "unchanged":
        RunManifests(DataPaths(paths.root)).update(run_id, state="discarded", note=increment.reason)
        return StepOutput(detail=f"nothing new: data/current stays at runs/{increment.base_run}")
    if not auto_publish:
        return StepOutput(detail=f"audited; publish with `lakehouse publish {run_id}`")
    publish_phase1(paths, run_id, keep=keep_runs)
    return StepOutput(detail=f"published: data/current -> runs/{run_id}")


PHASE1_WAP_STEPS = (
    ("audit_outputs", "Audit the run's outputs (counts, keys, revenue, run ids)", audit_outputs),
    ("publish_outputs", "Publish the audited run: switch data/current to it in one rename", publish_outputs),
)


# ---------------------------------------------------------------- phase 2
class RunPublisher(Protocol):
    """How a backend stages phase 2's tables and publishes them all at once."""

    def open_write_catalog(self, run_id: str) -> Any:
        """A pyiceberg Catalog whose commits stay invisible to readers until ``publish``."""
        ...

    def staged(self, catalog: Any, run_id: str) -> dict[str, dict[str, Any]]:
        """Per table: rows, spec, run_id, source_run, snapshot_id, commit and publish data."""
        ...

    def publish(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Publish every table of a staged run at once; manifest fields to record."""
        ...

    def discard(self, manifest: Mapping[str, Any]) -> None:
        """Drop what a staged run left (a run branch)."""
        ...

    def published_run(self) -> str | None:
        """The phase-2 run readers see now (None when no table exists)."""
        ...

    def published_rows(self) -> dict[str, int]:
        """Rows per table readers see now."""
        ...

    def published_fingerprint(self) -> str | None:
        """The source fingerprint every published table carries (None: no table, or they differ)."""
        ...


class PhaseTwoLoad(Protocol):
    """Writes every phase-2 table of the phase-1 run ``source_run`` into ``catalog`` (staged), each
    snapshot carrying ``properties``; returns the snapshots and how they were written."""

    def __call__(
        self,
        catalog: Any,
        root: DataPaths,
        source_run: str,
        *,
        run_id: str,
        progress: ProgressSink,
        cancel: CancelToken | None,
        properties: Mapping[str, str],
    ) -> tuple[list[SnapshotRef], str]: ...


def pyiceberg_load(
    catalog: Any,
    root: DataPaths,
    source_run: str,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    properties: Mapping[str, str],
) -> tuple[list[SnapshotRef], str]:
    """Phase 2's load in this process: upsert the increment, or load every table with pyiceberg."""
    from lakehouse_core.iceberg.promote import promote_all
    from lakehouse_core.iceberg.upsert import promote_increment
    from lakehouse_core.pipeline.incremental import read_plan

    increment = read_plan(root.for_run(source_run))
    snapshots = promote_increment(
        catalog, root, source_run, increment, run_id=run_id, progress=progress, cancel=cancel,
        properties=dict(properties),
    )
    if snapshots is not None:
        return snapshots, "upserted"
    return (
        promote_all(
            catalog, root.for_run(source_run), run_id=run_id, progress=progress, cancel=cancel,
            properties=dict(properties),
        ),
        "loaded",
    )


def published_source(paths: DataPaths) -> str:
    """The published phase-1 run; DataError when there is none or it did not complete."""
    reconcile_phase1(paths)
    run_id = current_run(paths)
    if run_id is None:
        raise DataError("no published phase-1 run: run phase 1 first")
    state = RunManifests(paths).load(run_id).get("state")
    if state != "published":
        raise DataError(f"phase-1 run {run_id} is {state}, not published: rerun phase 1")
    return run_id


def phase2_steps(
    paths: DataPaths,
    publisher: RunPublisher,
    publish: Callable[[str], object],
    *,
    auto_publish: bool,
    run_source: str = "cli",
    load: PhaseTwoLoad | None = None,
) -> list[Step]:
    """Phase 2: load the published phase-1 run into staged tables, audit them, publish them.

    ``load`` writes the tables into the publisher's write catalog (default ``pyiceberg_load``; stack
    mode may submit a Spark job instead).

    A run whose source data has the fingerprint the published tables carry (a rerun on identical
    data) commits nothing: it ends ``unchanged`` and its audit and publish steps say so.
    """
    root = DataPaths(paths.root)
    manifests = RunManifests(root)
    source: dict[str, str] = {}

    def unchanged(run_id: str) -> bool:
        return manifests.load(run_id).get("state") == "unchanged"

    def check_source(run_id: str) -> StepOutput:
        source["run"] = published_source(root)
        manifests.update(run_id, source_run=source["run"])
        return StepOutput(detail=f"phase-1 run {source['run']}")

    def promote(
        run_id: str, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None
    ) -> StepOutput:
        from lakehouse_core.iceberg.promote import SOURCE_RUN_PROPERTY

        fingerprint = phase2_fingerprint(root.for_run(source["run"]))
        if fingerprint == publisher.published_fingerprint():
            same_as = publisher.published_run()
            manifests.finish(run_id, "unchanged", same_as=same_as, fingerprint=fingerprint)
            return StepOutput(
                outputs={"unchanged": True, "same_as": same_as},
                detail=f"nothing changed: the published tables already hold this data (run {same_as}); "
                "no commit",
            )
        catalog = publisher.open_write_catalog(run_id)
        properties = {
            **RunCommit(run_id, 2, run_source).properties(),
            SOURCE_RUN_PROPERTY: source["run"],
            FINGERPRINT_PROPERTY: fingerprint,
        }
        snapshots, how = (load or pyiceberg_load)(
            catalog, root, source["run"], run_id=run_id, progress=progress, cancel=cancel,
            properties=properties,
        )
        staged = publisher.staged(catalog, run_id)
        manifests.update(run_id, tables=staged)
        crash_point("phase2.after_staging")
        rows = {name: int(t["rows"]) for name, t in staged.items()}
        return StepOutput(
            rows=rows,
            outputs={"snapshots": snapshots},
            detail=f"{len(snapshots)} tables {how} and staged, not yet visible",
        )

    def audit(run_id: str) -> StepOutput:
        if unchanged(run_id):
            return StepOutput(detail="skipped: nothing was written")

        from lakehouse_core.iceberg.tables import TABLES
        from lakehouse_core.pipeline.parts import table_rows

        source_paths = root.for_run(source["run"])
        expected = {t.identifier: table_rows(t.source_path(source_paths)) for t in TABLES}
        staged = manifests.load(run_id).get("tables", {})
        checks = audit_phase2(staged, expected, run_id=run_id, source_run=source["run"])
        _record_audits(root, run_id, checks)
        return StepOutput(detail=_summary(checks), outputs={"audits": checks})

    def publish_step(run_id: str) -> StepOutput:
        if unchanged(run_id):
            return StepOutput(detail="skipped: nothing to publish")
        if not auto_publish:
            return StepOutput(detail=f"audited; publish with `lakehouse publish {run_id}`")
        publish(run_id)
        return StepOutput(detail="every table published in one commit")

    return [
        Step(
            "check_source", "use the published phase-1 run (refuse one that did not complete)", check_source
        ),
        Step("promote_to_iceberg", "load each layer's Parquet into a staged snapshot of its table", promote),
        Step("audit_tables", "audit the staged tables (partition specs, rows, run ids)", audit),
        Step("publish_tables", "publish every table at once (one catalog commit)", publish_step),
    ]
