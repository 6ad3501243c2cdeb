"""LocalRunControl: the RunControl of both backends over the run manifests of the data dir.

Phase-1 runs are published by switching ``data/current``; phase-2 runs by the backend's
RunPublisher (one catalog transaction in embedded mode, one Nessie merge in stack mode).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lakehouse_core.errors import ConflictError, LakehouseError
from lakehouse_core.faults import crash_point
from lakehouse_core.models import PublishPreview, RunInfo, TableDelta
from lakehouse_core.paths import DataPaths
from lakehouse_core.phases.lock import RunLock, hold_all
from lakehouse_core.phases.wap import RunPublisher
from lakehouse_core.publish import PUBLISHABLE, current_run, prune_runs, publish_phase1, reconcile_phase1
from lakehouse_core.runlog import RunManifests, run_info

logger = logging.getLogger(__name__)

PHASE1_LAYERS = ("bronze", "silver", "gold", "quarantine", "staging")


class LocalRunControl:
    """Lists, previews, publishes and discards the runs recorded under ``data/runs``."""

    def __init__(
        self,
        paths: DataPaths,
        publisher: RunPublisher,
        *,
        keep: int = 5,
        locks: Callable[[], list[RunLock]] | None = None,
    ) -> None:
        self.paths = DataPaths(paths.root)
        self.publisher = publisher
        self.keep = keep
        self.manifests = RunManifests(self.paths)
        self._locks = locks or (lambda: [RunLock.for_key(self.paths.root, "data-dir")])

    # ------------------------------------------------------------ reading
    def _published_phase2(self) -> str | None:
        try:
            return self.publisher.published_run()
        except LakehouseError as exc:  # a service down: the list still shows phase 1
            logger.warning("cannot tell which phase-2 run is published: %s", exc)
            return None

    def _reconcile(self, manifest: dict[str, Any], published2: str | None) -> dict[str, Any]:
        if (
            manifest.get("phase") == 2
            and manifest.get("state") == "audited"
            and published2 == manifest["run_id"]
        ):
            return self.manifests.update(str(manifest["run_id"]), state="published")
        return manifest

    def list_runs(self) -> list[RunInfo]:
        reconcile_phase1(self.paths)
        current, published2 = current_run(self.paths), self._published_phase2()
        out = []
        for manifest in self.manifests.all():
            manifest = self._reconcile(manifest, published2)
            live = manifest["run_id"] == (current if manifest.get("phase") == 1 else published2)
            out.append(run_info(manifest, published=live))
        return out

    def run(self, run_id: str) -> RunInfo:
        manifest = self.manifests.load(run_id)
        if manifest.get("phase") == 1:
            reconcile_phase1(self.paths)
            return run_info(self.manifests.load(run_id), published=current_run(self.paths) == run_id)
        published2 = self._published_phase2()
        return run_info(self._reconcile(manifest, published2), published=published2 == run_id)

    def preview(self, run_id: str) -> PublishPreview:
        info = self.run(run_id)
        if info.phase == 1:
            current = current_run(self.paths)
            before: dict[str, int] = {}
            if current is not None and current != run_id:
                before = {t.table: t.rows for t in run_info(self.manifests.load(current)).tables}
            elif current == run_id:
                before = {t.table: t.rows for t in info.tables}
        else:
            try:
                before = self.publisher.published_rows()
            except LakehouseError as exc:
                return PublishPreview(run_id, info.phase, (), False, str(exc))
        tables = tuple(TableDelta(t.table, before.get(t.table), t.rows) for t in info.tables)
        ok, reason = info.state in PUBLISHABLE, ""
        if info.published:
            ok, reason = False, "already published"
        elif not ok:
            reason = f"the run is {info.state}: only an audited run can be published"
        return PublishPreview(run_id, info.phase, tables, ok, reason)

    # ------------------------------------------------------------ changing
    def publish(self, run_id: str) -> RunInfo:
        """Publish ``run_id`` holding the run locks (reentrant: a phase publishing its own run)."""
        with hold_all(self._locks(), f"publish {run_id}"):
            return self._publish(run_id)

    def _publish(self, run_id: str) -> RunInfo:
        manifest = self.manifests.load(run_id)
        if manifest.get("state") not in PUBLISHABLE:
            raise ConflictError(
                f"run {run_id} is {manifest.get('state')}: only an audited run can be published",
                title="Not publishable",
            )
        if manifest.get("phase") == 1:
            publish_phase1(self.paths, run_id, keep=self.keep)
            return self.run(run_id)
        fields = self.publisher.publish(manifest)
        crash_point("phase2.publish.before_manifest")
        self.manifests.update(run_id, state="published", published_at=datetime.now(UTC).isoformat(), **fields)
        prune_runs(self.paths, keep=self.keep)
        return self.run(run_id)

    def discard(self, run_id: str) -> RunInfo:
        """Discard ``run_id`` holding the run locks."""
        with hold_all(self._locks(), f"discard {run_id}"):
            return self._discard(run_id)

    def _discard(self, run_id: str) -> RunInfo:
        info = self.run(run_id)
        if info.published:
            raise ConflictError(f"run {run_id} is what readers see: publish another run first")
        if info.state == "running":
            raise ConflictError(f"run {run_id} is still running")
        if info.phase == 1:
            for layer in PHASE1_LAYERS:
                shutil.rmtree(self.paths.run_dir(run_id) / layer, ignore_errors=True)
        else:
            self.publisher.discard(self.manifests.load(run_id))
        self.manifests.update(run_id, state="discarded")
        return self.run(run_id)
