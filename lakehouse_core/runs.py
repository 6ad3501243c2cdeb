"""Run ids and persisted phase results (one JSON per phase under ``data/runs``)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse_core.fileio import atomic_write_text
from lakehouse_core.models import PhaseResult, SnapshotRef, TaskResult

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    """A sortable, unique run id: ``20261126T221500Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from dataclasses, dicts, sequences, datetimes (ISO) and scalars (others: str)."""
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def result_to_dict(result: PhaseResult) -> dict[str, Any]:
    """A JSON-ready dict of a PhaseResult."""
    return to_jsonable(result)  # type: ignore[no-any-return]


def result_from_dict(data: dict[str, Any]) -> PhaseResult:
    """Inverse of result_to_dict."""
    return PhaseResult(
        phase=int(data["phase"]),
        ok=bool(data["ok"]),
        run_id=str(data["run_id"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        seconds=float(data["seconds"]),
        tasks=tuple(
            TaskResult(
                name=t["name"],
                seconds=float(t["seconds"]),
                rows=dict(t.get("rows", {})),
                detail=t.get("detail", ""),
                outputs=dict(t.get("outputs", {})),
            )
            for t in data.get("tasks", [])
        ),
        rows_per_layer=dict(data.get("rows_per_layer", {})),
        quality_failures=int(data.get("quality_failures", 0)),
        snapshots=tuple(SnapshotRef(**s) for s in data.get("snapshots", [])),
        outputs=dict(data.get("outputs", {})),
        error=data.get("error"),
    )


class RunStore:
    """Stores the last PhaseResult of each phase as ``runs/phase-<n>.json`` (atomic replace: tmp +
    fsync + rename; a failed write leaves the previous file and no temporary one). ``redact`` is
    applied to the JSON text (secrets out of run files)."""

    def __init__(self, directory: Path, redact: Callable[[str], str] | None = None) -> None:
        self.directory = directory
        self._redact = redact or (lambda text: text)

    def save(self, result: PhaseResult) -> None:
        target = self.directory / f"phase-{result.phase}.json"
        atomic_write_text(target, self._redact(json.dumps(result_to_dict(result), indent=2)))

    def load_all(self) -> dict[int, PhaseResult]:
        results: dict[int, PhaseResult] = {}
        for phase in (1, 2, 3, 4):
            path = self.directory / f"phase-{phase}.json"
            if not path.exists():
                continue
            try:
                results[phase] = result_from_dict(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("ignoring unreadable run file %s: %s", path, exc)
        return results
