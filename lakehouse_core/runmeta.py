"""What a run's commits say, and how a rerun that changes nothing is told.

Every commit a run makes names its run id, phase and source (``settings.run_source``: cli, tui,
airflow, spark): in Nessie as the commit message and commit properties, in Iceberg as snapshot-summary
properties (embedded mode has no commit messages). Phase 2 also records the fingerprint of the data it
loaded (``phase2_fingerprint``): a rerun whose fingerprint equals the one every published table carries
would write the same rows again, so it commits nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse_core.paths import DataPaths

RUN_ID_PROPERTY = "lakehouse.run-id"
PHASE_PROPERTY = "lakehouse.phase"
RUN_SOURCE_PROPERTY = "lakehouse.run-source"
FINGERPRINT_PROPERTY = "lakehouse.source-fingerprint"
"""sha256 over every phase-2 table's definition and source Parquet bytes."""
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RunCommit:
    """The run a commit belongs to."""

    run_id: str
    phase: int
    source: str

    def message(self, what: str) -> str:
        """``phase 2 run <id> from cli: <what>``."""
        return f"phase {self.phase} run {self.run_id} from {self.source}: {what}"

    def properties(self) -> dict[str, str]:
        """Commit / snapshot-summary properties naming the run id, phase and source."""
        return {
            RUN_ID_PROPERTY: self.run_id,
            PHASE_PROPERTY: str(self.phase),
            RUN_SOURCE_PROPERTY: self.source,
        }

    @property
    def author(self) -> str:
        return f"lakehouse-{self.source}"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_sha256(path: Path) -> str:
    """Hex sha256 of a Parquet file, or of a parted table's directory: each file's name and bytes
    (parts and deletes, by name; the deletes name the parts they apply to)."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{item.relative_to(path)}\n{file_sha256(item)}\n".encode())
    return digest.hexdigest()


def phase2_fingerprint(paths: DataPaths) -> str:
    """Fingerprint of what phase 2 would write from the phase-1 run at ``paths``
    (``DataPaths.for_run``): every table's identifier, schema and partitioning, and the sha256 of
    its source (a Parquet file or a parted table)."""
    from lakehouse_core.iceberg.tables import TABLES

    digest = hashlib.sha256()
    for definition in sorted(TABLES, key=lambda t: t.identifier):
        digest.update(f"{definition.identifier}\n{definition.arrow_schema}\n{definition.partition}\n".encode())
        digest.update(source_sha256(definition.source_path(paths)).encode())
    return digest.hexdigest()
