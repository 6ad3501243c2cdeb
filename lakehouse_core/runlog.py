"""Run manifests: ``data/runs/<run_id>/manifest.json``, one per phase-1 or phase-2 run.

A manifest records the run's phase, state (``models.RunState``), start/finish times, process id,
audits, outputs per table (rows, snapshot, staged metadata file or Nessie commit), the phase-1 run a
phase-2 run loaded, and whatever its publisher needs to publish it later. Every write replaces the
file atomically (temporary file, fsync, ``os.replace``), so a kill leaves the old or the new manifest.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse_core.errors import CancelledError, DiskFullError, LakehouseError, NotFoundError, PhaseFailed
from lakehouse_core.fileio import atomic_write_text
from lakehouse_core.models import AuditCheck, RunInfo, RunTable
from lakehouse_core.paths import DataPaths
from lakehouse_core.runs import to_jsonable

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FINAL_FAILURES = ("failed", "cancelled", "interrupted", "audit_failed", "discarded")


def write_json_atomic(path: Path, data: Any, redact: Callable[[str], str] | None = None) -> None:
    """Write ``data`` as JSON to ``path`` so that readers see the old or the new file, never a part;
    ``redact`` removes secrets from the text."""
    text = json.dumps(to_jsonable(data), indent=2)
    try:
        atomic_write_text(path, redact(text) if redact is not None else text)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(str(path)) from exc
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat()


class RunManifests:
    """Reads and writes the manifests under ``paths.runs``; ``redact`` (``Redactor.for_settings``)
    keeps secrets out of what a run records (its error text)."""

    def __init__(self, paths: DataPaths, redact: Callable[[str], str] | None = None) -> None:
        self.paths = DataPaths(paths.root)
        self._redact = redact

    def path(self, run_id: str) -> Path:
        return self.paths.run_dir(run_id) / MANIFEST

    def exists(self, run_id: str) -> bool:
        return self.path(run_id).is_file()

    def load(self, run_id: str) -> dict[str, Any]:
        """The manifest of ``run_id`` (NotFoundError when there is none)."""
        if "/" in run_id or run_id in ("", ".", ".."):
            raise NotFoundError(f"no run {run_id!r}")
        try:
            data = json.loads(self.path(run_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(f"no run {run_id!r} in {self.paths.runs}", title="Unknown run") from None
        except (OSError, ValueError) as exc:
            raise LakehouseError(f"unreadable manifest of run {run_id}: {exc}") from exc
        if not isinstance(data, dict):
            raise LakehouseError(f"unreadable manifest of run {run_id}: not an object")
        return data

    def save(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.path(str(manifest["run_id"])), manifest, self._redact)

    def update(self, run_id: str, **fields: Any) -> dict[str, Any]:
        manifest = self.load(run_id)
        manifest.update(fields)
        self.save(manifest)
        return manifest

    def begin(self, run_id: str, phase: int, **fields: Any) -> dict[str, Any]:
        manifest = {
            "run_id": run_id,
            "phase": phase,
            "state": "running",
            "started_at": _now(),
            "finished_at": None,
            "pid": os.getpid(),
            "audits": [],
            "tables": {},
            "error": None,
            **fields,
        }
        self.save(manifest)
        return manifest

    def finish(self, run_id: str, state: str, error: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.update(run_id, state=state, finished_at=_now(), error=error, **fields)

    def run_ids(self) -> list[str]:
        """Every run with a manifest, newest first (run ids sort by start time)."""
        if not self.paths.runs.is_dir():
            return []
        return sorted((p.name for p in self.paths.runs.iterdir() if (p / MANIFEST).is_file()), reverse=True)

    def all(self) -> Iterator[dict[str, Any]]:
        """Every readable manifest, newest first; a run whose process died is marked interrupted."""
        from lakehouse_core.phases.lock import pid_alive  # here: lakehouse_core.phases imports this module

        manifests = []
        for run_id in self.run_ids():
            try:
                manifests.append(self.load(run_id))
            except LakehouseError as exc:
                logger.warning("%s", exc)
        # run ids hold the start to the second: two runs started within one second sort by their
        # recorded start (ISO, to the microsecond)
        manifests.sort(key=lambda m: (str(m.get("started_at", "")), str(m.get("run_id", ""))), reverse=True)
        for manifest in manifests:
            run_id = str(manifest["run_id"])
            if manifest.get("state") == "running" and not pid_alive(int(manifest.get("pid") or 0)):
                manifest = self.finish(run_id, "interrupted", "its process ended without a result")
            yield manifest

    @contextmanager
    def tracking(self, run_id: str, phase: int, **fields: Any) -> Iterator[dict[str, Any]]:
        """Record a run: ``running`` now, then its outcome (a body that returns leaves the state its
        steps set: ``audited`` or ``published``)."""
        manifest = self.begin(run_id, phase, **fields)
        try:
            yield manifest
        except BaseException as exc:
            try:
                self.finish(run_id, *_failure_state(exc))
            except (OSError, LakehouseError) as record_error:  # e.g. the full disk that failed the run
                logger.warning("cannot record the outcome of run %s: %s", run_id, record_error)
            raise
        else:
            if self.load(run_id).get("state") == "running":
                self.finish(run_id, "failed", "the run ended before its audits")


def _failure_state(exc: BaseException) -> tuple[str, str]:
    from lakehouse_core.audits import AuditFailed

    cause: BaseException | str = exc.cause if isinstance(exc, PhaseFailed) else exc
    if isinstance(cause, CancelledError) or isinstance(exc, CancelledError | KeyboardInterrupt):
        return "cancelled", str(cause) or "cancelled"
    if isinstance(cause, AuditFailed):
        return "audit_failed", str(cause)
    return "failed", str(cause)


def run_info(manifest: dict[str, Any], *, published: bool = False) -> RunInfo:
    """The RunInfo of a manifest."""
    finished = manifest.get("finished_at")
    return RunInfo(
        run_id=str(manifest["run_id"]),
        phase=int(manifest.get("phase", 0)),
        state=manifest.get("state", "failed"),
        started_at=datetime.fromisoformat(manifest["started_at"]),
        finished_at=datetime.fromisoformat(finished) if finished else None,
        audits=tuple(
            AuditCheck(a["name"], bool(a["ok"]), a.get("detail", ""), a.get("numbers", {}))
            for a in manifest.get("audits", [])
        ),
        tables=tuple(
            RunTable(name, int(t.get("rows", 0)), t.get("snapshot_id"), str(t.get("commit", "")))
            for name, t in sorted(manifest.get("tables", {}).items())
        ),
        source_run=manifest.get("source_run"),
        published=published,
        error=manifest.get("error"),
    )
