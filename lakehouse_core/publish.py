"""Publishing phase-1 runs: the ``current`` symlink switched atomically, old run directories pruned.

A phase-1 run writes into ``runs/<run_id>/``; publishing it replaces ``data/current`` by a fresh
symlink to that directory with ``os.replace`` (atomic on POSIX: readers resolve the old or the new
run, never a mix) and then marks its manifest ``published``. A kill between the two is repaired by
``reconcile_phase1``: a run that ``current`` points to is published.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse_core.errors import ConflictError, DataError, LakehouseError
from lakehouse_core.faults import crash_point
from lakehouse_core.fileio import fsync_directory
from lakehouse_core.paths import GOLD_TABLES, TABLES, DataPaths
from lakehouse_core.pipeline.parts import exists
from lakehouse_core.runlog import RunManifests

logger = logging.getLogger(__name__)

PUBLISHABLE = ("audited", "published")


def current_run(paths: DataPaths) -> str | None:
    """The run id ``data/current`` points to (None when nothing is published)."""
    try:
        target = os.readlink(paths.current)
    except (FileNotFoundError, OSError):
        return None
    return Path(target).name or None


def phase1_outputs(paths: DataPaths) -> dict[str, Path]:
    """Every Parquet output of a phase-1 run by table name (``bronze.orders`` ...)."""
    outputs = {f"bronze.{t}": paths.bronze_parquet(t) for t in TABLES}
    outputs["silver.orders_enriched"] = paths.silver_orders
    outputs.update({f"gold.{t}": paths.gold_parquet(t) for t in GOLD_TABLES})
    outputs.update({f"quarantine.{t}": paths.quarantine_parquet(t) for t in TABLES})
    return outputs


def switch_current(paths: DataPaths, run_id: str) -> None:
    """Point ``data/current`` at ``runs/<run_id>`` in one rename."""
    if paths.current.exists() and not paths.current.is_symlink():
        raise LakehouseError(f"{paths.current} is not a symlink: move it away to publish runs")
    tmp = paths.root / f".current.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(Path(paths.runs.name) / run_id, tmp)
    crash_point("phase1.publish.symlink_made")
    os.replace(tmp, paths.current)
    fsync_directory(paths.root)


def publish_phase1(paths: DataPaths, run_id: str, *, keep: int) -> dict[str, Any]:
    """Publish phase-1 run ``run_id`` (audited; its files present); return its manifest."""
    manifests = RunManifests(paths)
    manifest = manifests.load(run_id)
    if manifest.get("phase") != 1:
        raise DataError(f"run {run_id} is a phase-{manifest.get('phase')} run")
    if manifest.get("state") not in PUBLISHABLE:
        raise ConflictError(f"run {run_id} is {manifest.get('state')}: only an audited run can be published")
    run_paths = paths.for_run(run_id)
    missing = [str(p) for p in phase1_outputs(run_paths).values() if not exists(p)]
    if missing:
        raise DataError(f"run {run_id} lacks {', '.join(missing)}")
    crash_point("phase1.publish.before_switch")
    switch_current(paths, run_id)
    crash_point("phase1.publish.after_switch")
    manifest = manifests.update(run_id, state="published", published_at=datetime.now(UTC).isoformat())
    crash_point("phase1.publish.after_manifest")
    prune_runs(paths, keep=keep)
    return manifest


def reconcile_phase1(paths: DataPaths) -> None:
    """Mark the run ``current`` points to as published (a kill may have come before its manifest)."""
    run_id = current_run(paths)
    if run_id is None:
        return
    manifests = RunManifests(paths)
    try:
        manifest = manifests.load(run_id)
    except LakehouseError:
        return
    if manifest.get("state") != "published":
        manifests.update(run_id, state="published")


def prune_runs(paths: DataPaths, *, keep: int, protect: tuple[str, ...] = ()) -> list[str]:
    """Delete all but the newest ``keep`` runs of each phase; never the published run, one still
    running or one waiting to be published. Returns the deleted run ids."""
    manifests = RunManifests(paths)
    protected = {current_run(paths), *protect}
    seen: dict[int, int] = {}
    deleted = []
    for manifest in manifests.all():
        phase = int(manifest.get("phase", 0))
        seen[phase] = seen.get(phase, 0) + 1
        run_id = str(manifest["run_id"])
        if seen[phase] <= keep or run_id in protected or manifest.get("state") in ("running", "audited"):
            continue
        shutil.rmtree(paths.run_dir(run_id), ignore_errors=True)
        deleted.append(run_id)
    if deleted:
        logger.info("pruned runs %s", ", ".join(deleted))
    return deleted
