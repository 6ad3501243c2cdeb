"""Incremental phase-1 runs: the raw-file ledger, the run's plan, and the merges of each layer.

The ledger (``ledger.json`` in a run directory) maps the SHA-256 of every raw file a run's outputs
hold to its table and name. It is part of the published state: ``data/current/ledger.json`` is what
readers' data was built from, so a failed or discarded run never marks a file as seen.

A run compares the raw files with the published ledger (``plan_increment``):
- ``full``: nothing published, ``incremental`` off, or a file the ledger holds is no longer in raw/
  (removed or changed): every layer is rebuilt from every raw file;
- ``unchanged``: every raw file is in the ledger: the run builds and publishes nothing;
- ``incremental``: the new files only are typed into ``delta/`` of the run directory (same checks as a
  full run), then merged: bronze = previous rows minus the valid rows whose key a new valid row
  replaces, plus the new rows; the quarantine gains the new flagged rows; silver is recomputed for the
  new and replaced orders and the orders of changed customers and products; gold only for the groups
  (dates, customers, products, states) of the silver rows removed or added.

Known limit: an order quarantined as an orphan stays quarantined when its customer or product arrives
in a later file (re-deliver the order).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lakehouse_core.paths import TABLES, DataPaths
from lakehouse_core.runlog import write_json_atomic

LEDGER_FILE = "ledger.json"
INCREMENT_FILE = "increment.json"
KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id"}
GOLD_GROUPS = {  # gold table -> (its key column, the silver column it groups by)
    "daily_sales": ("date", "order_date"),
    "customer_metrics": ("customer_id", "customer_id"),
    "product_performance": ("product_id", "product_id"),
    "regional_sales": ("state", "state"),
}
Mode = Literal["full", "incremental", "unchanged"]


def file_hash(path: Path, block: int = 8 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Increment:
    """What a phase-1 run reads: ``files`` per table (every raw file when full, the new ones otherwise)."""

    mode: Mode
    base_run: str | None
    files: dict[str, list[str]] = field(default_factory=dict)
    reason: str = ""
    replaced: dict[str, int] = field(default_factory=dict)
    """Valid rows of the base run that new valid rows replaced, per table (incremental runs)."""

    def paths(self, table: str) -> list[Path]:
        return [Path(p) for p in self.files.get(table, [])]

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "base_run": self.base_run, "files": self.files, "reason": self.reason,
                "replaced": self.replaced}


def delta_paths(paths: DataPaths) -> DataPaths:
    """Where an incremental run types its new files (``<run dir>/delta``)."""
    return DataPaths(paths.root, paths.outputs / "delta")


def base_paths(paths: DataPaths, increment: Increment) -> DataPaths:
    """The layers of the run an incremental run builds on."""
    assert increment.base_run is not None
    return DataPaths(paths.root).for_run(increment.base_run)


def load_ledger(outputs: Path) -> dict[str, dict[str, Any]] | None:
    """The ledger of a run directory (None when it has none or it is unreadable)."""
    try:
        data = json.loads((outputs / LEDGER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else None


def _published(paths: DataPaths) -> tuple[str | None, dict[str, dict[str, Any]] | None]:
    from lakehouse_core.publish import current_run

    root = DataPaths(paths.root)
    run_id = current_run(root)
    if run_id is None:
        return None, None
    return run_id, load_ledger(root.run_dir(run_id))


def _known_hashes(ledger: dict[str, dict[str, Any]] | None) -> dict[tuple[str, int, int], str]:
    """(name, bytes, mtime_ns) -> hash of the ledger's files (entries recorded with their mtime)."""
    return {(e["name"], int(e["bytes"]), int(e["mtime_ns"])): d for d, e in (ledger or {}).items()
            if "mtime_ns" in e and "name" in e and "bytes" in e}


def plan_increment(paths: DataPaths, *, incremental: bool = True) -> tuple[Increment, dict[str, Any]]:
    """The run's plan and the ledger its outputs will hold.

    Raw files are hashed once here; a file whose name, size and modification time (ns) the published
    ledger records keeps its recorded hash without being read again (as git's index does): rewriting
    a file changes its mtime.
    """
    base_run, ledger = _published(paths)
    known = _known_hashes(ledger) if incremental else {}
    seen: dict[str, dict[str, Any]] = {}
    by_table: dict[str, list[tuple[str, Path]]] = {}
    for table in TABLES:
        for f in paths.raw_files(table):
            stat = f.stat()
            digest = known.get((f.name, stat.st_size, stat.st_mtime_ns)) or file_hash(f)
            by_table.setdefault(table, []).append((digest, f))
            seen.setdefault(digest, {"table": table, "name": f.name, "bytes": stat.st_size,
                                     "mtime_ns": stat.st_mtime_ns})
    every = {t: [str(f) for _, f in fs] for t, fs in by_table.items()}
    if not incremental or base_run is None or ledger is None:
        why = "incremental runs are off" if not incremental else "no published run with a ledger"
        return Increment("full", None, every, why), seen
    gone = [entry.get("name", digest[:12]) for digest, entry in ledger.items() if digest not in seen]
    if gone:
        reason = f"{len(gone)} files seen before are gone or changed ({', '.join(sorted(gone)[:5])})"
        return Increment("full", None, every, reason), seen
    new: dict[str, list[str]] = {}
    taken = set(ledger)
    for table, found in by_table.items():
        for digest, f in found:
            if digest not in taken:
                taken.add(digest)  # a second copy of the same bytes is not read twice
                new.setdefault(table, []).append(str(f))
    merged = {**ledger, **seen}  # current names and mtimes of the files seen before
    if not new:
        return Increment("unchanged", base_run, {}, f"nothing new since run {base_run}"), merged
    count = sum(len(v) for v in new.values())
    return Increment("incremental", base_run, new, f"{count} new files since run {base_run}"), merged


def save_plan(paths: DataPaths, increment: Increment, ledger: dict[str, Any]) -> None:
    """Record the plan and the ledger in the run directory (atomically)."""
    write_json_atomic(paths.outputs / INCREMENT_FILE, increment.to_json())
    write_json_atomic(paths.outputs / LEDGER_FILE, {"files": ledger})


def read_plan(paths: DataPaths) -> Increment:
    """The plan ingest recorded (a full run when there is none: the tasks called on a plain dir)."""
    try:
        data = json.loads((paths.outputs / INCREMENT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Increment("full", None)
    return Increment(data["mode"], data.get("base_run"), data.get("files") or {}, data.get("reason", ""),
                     data.get("replaced") or {})
