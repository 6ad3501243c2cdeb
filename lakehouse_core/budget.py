"""The memory and thread budget of a phase, derived from the machine and ``settings.memory_budget``.

``auto`` (the default) gives a phase a quarter of the memory available when it starts, between
MIN_AUTO and MAX_AUTO; an explicit size (``3GB``, ``512MiB``) is taken as asked. The budget bounds the
whole phase process: DuckDB's ``memory_limit`` is DUCKDB_SHARE of it (the rest is Python, Arrow
buffers and DuckDB's own overhead outside its buffer manager), so peak RSS stays within the budget.
Threads are the cores this process may run on, unless ``settings.threads`` says otherwise.

``checked_budget`` fails early, with one line naming the cause and the setting to change, when the
budget cannot work (more than the machine has, below what DuckDB needs) or the spill directory's disk
is nearly full. ``resource_error`` turns DuckDB's out-of-memory and no-space errors met later into the
same kind of line.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lakehouse_core.errors import NoRoomError, ResourceError
from lakehouse_core.settings import LakehouseSettings
from lakehouse_core.units import binary_size

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_AUTO = 512 * MIB
MAX_AUTO = 4 * GIB
"""``auto`` never asks for more than this: a 100M-order phase runs in it without heavy spilling."""
AUTO_SHARE = 0.25
DUCKDB_SHARE = 0.7
MIN_BUDGET = 64 * MIB
"""Below this DuckDB cannot run the pipeline's queries at all (one hash table's blocks)."""
MIN_FREE_DISK = 1 * MIB
"""Free space the spill directory needs before any phase starts; phase 1 needs twice its raw input."""
MEMORY_SETTING = "LAKEHOUSE_MEMORY_BUDGET"
THREADS_SETTING = "LAKEHOUSE_THREADS"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "k": 1024, "m": MIB, "g": GIB, "t": 1024 * GIB}


def parse_size(text: str) -> int:
    """Bytes of ``512MB``, ``3 GiB``, ``1.5g``, ``1048576`` (powers of 1024); ValueError otherwise."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (e.g. auto, 512MB, 3GB)")
    number, unit = match.groups()
    return int(float(number) * _FACTORS[unit.lower()[:1]])


def available_memory() -> int:
    """Bytes of memory available to new work now (``MemAvailable``), or the physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Budget:
    """What one phase process may use."""

    memory: int
    """Bytes for the whole phase process (its peak RSS target)."""
    threads: int
    source: str
    """How it was chosen: ``auto: 1/4 of 21.7 GiB available`` or ``LAKEHOUSE_MEMORY_BUDGET=3GB``."""

    @property
    def duckdb_memory(self) -> int:
        """DuckDB's ``memory_limit`` for one connection (tasks run one at a time)."""
        return max(int(self.memory * DUCKDB_SHARE), 32 * MIB)

    def duckdb_config(self) -> dict[str, str | int]:
        return {"memory_limit": f"{self.duckdb_memory // MIB}MiB", "threads": self.threads}

    def describe(self) -> str:
        """One line for a phase plan."""
        return (f"memory budget {binary_size(self.memory)} ({self.source}): DuckDB memory_limit "
                f"{binary_size(self.duckdb_memory)}, {self.threads} threads; "
                f"change with {MEMORY_SETTING} / {THREADS_SETTING}")


def resolve_budget(memory: str = "auto", threads: int = 0, *, available: int | None = None,
                   cores: int | None = None) -> Budget:
    """The budget for the ``memory_budget`` and ``threads`` settings on this machine (no checks)."""
    cores = cores if cores is not None else available_cores()
    n_threads = threads if threads > 0 else max(cores, 1)
    if memory.strip().lower() == "auto":
        free = available if available is not None else available_memory()
        size = min(max(int(free * AUTO_SHARE), MIN_AUTO), MAX_AUTO)
        return Budget(size, n_threads, f"auto: 1/4 of {binary_size(free)} available, at most "
                                       f"{binary_size(MAX_AUTO)}")
    return Budget(parse_size(memory), n_threads, f"{MEMORY_SETTING}={memory.strip()}")


def checked_budget(memory: str, threads: int, spill_dir: Path, *, available: int | None = None,
                   free_disk: int | None = None, need_disk: int = MIN_FREE_DISK) -> Budget:
    """``resolve_budget``, refusing with a ResourceError what cannot work, before any work starts:
    ``need_disk`` is the least free space the run needs on the spill directory's disk."""
    try:
        budget = resolve_budget(memory, threads, available=available)
    except ValueError as exc:
        raise ResourceError(f"{exc}: set {MEMORY_SETTING} to auto or a size") from None
    free = available if available is not None else available_memory()
    if budget.memory < MIN_BUDGET:
        raise ResourceError(f"memory budget {binary_size(budget.memory)} is below the "
                            f"{binary_size(MIN_BUDGET)} a phase needs: raise {MEMORY_SETTING} (or use auto)")
    if budget.memory > free:
        raise ResourceError(f"memory budget {binary_size(budget.memory)} is more than the "
                            f"{binary_size(free)} available: lower {MEMORY_SETTING} (or use auto)")
    disk = free_disk if free_disk is not None else _free_disk(spill_dir)
    need = max(need_disk, MIN_FREE_DISK)
    if disk < need:
        raise NoRoomError(f"no space left on device for this run: only {binary_size(disk)} free for its "
                          f"outputs and spill files at {spill_dir} (at least {binary_size(need)} needed): "
                          "free disk space or set LAKEHOUSE_DATA_DIR to a larger disk", str(spill_dir))
    return budget


def _free_disk(path: Path) -> int:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


_OOM = ("out of memory", "could not allocate")


def resource_error(task: str, text: str, budget: Budget) -> ResourceError | None:
    """A one-line ResourceError for an engine error text that says memory ran out; else None."""
    lower = text.lower()
    if any(marker in lower for marker in _OOM):
        return ResourceError(f"{task} ran out of memory within its budget of {binary_size(budget.memory)} "
                             f"(DuckDB limit {binary_size(budget.duckdb_memory)}): raise {MEMORY_SETTING}"
                             " or free memory")
    return None


_current: Budget | None = None


def current_budget() -> Budget:
    """The budget of the running phase (``use_budget``), or ``auto`` for this machine."""
    return _current if _current is not None else resolve_budget()


@contextmanager
def use_budget(budget: Budget) -> Iterator[Budget]:
    """Make ``budget`` the one every DuckDB connection of this process uses until the block ends."""
    global _current
    previous, _current = _current, budget
    try:
        yield budget
    finally:
        _current = previous


def spill_dir(settings: LakehouseSettings) -> Path:
    """Where the phases' DuckDB connections spill (the pipeline's ``temp_directory``)."""
    return settings.data_path / ".duckdb_tmp"


RAW_BYTES_PER_ORDER = 80
"""About what one generated order costs in raw CSV (with its share of customers and products)."""
DISK_PER_RAW_BYTE = 2
"""Phase 1 writes about its raw input again in bronze (typed columns and the raw text) and as much
again in silver, gold, staging and spill files."""


def phase_budget(settings: LakehouseSettings, raw_bytes: int = 0) -> Budget:
    """The checked budget of a phase run with ``settings`` (ResourceError when it cannot work);
    ``raw_bytes``: the raw CSVs phase 1 reads (it needs twice that free)."""
    return checked_budget(settings.memory_budget, settings.threads, spill_dir(settings),
                          need_disk=DISK_PER_RAW_BYTE * raw_bytes)


def phase1_raw_bytes(settings: LakehouseSettings, generate: bool) -> int:
    """The raw CSV bytes a phase-1 run with ``settings`` reads: those it generates (an estimate) or
    those in raw/."""
    if generate:
        return RAW_BYTES_PER_ORDER * settings.orders
    raw = settings.data_path / "raw"
    return sum(f.stat().st_size for f in raw.glob("*.csv")) if raw.is_dir() else 0


def plan_line(settings: LakehouseSettings) -> str:
    """The budget as a phase plan shows it (a setting that cannot be read says so)."""
    try:
        return resolve_budget(settings.memory_budget, settings.threads).describe()
    except ValueError as exc:
        return f"memory budget: {exc}"
