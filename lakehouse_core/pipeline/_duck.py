"""DuckDB plumbing shared by the phase-1 tasks: one connection per task, SQL files, cancellation.

The SQL of ``sql/*.sql`` is plain SELECTs over logical relation names (``raw_orders``,
``bronze_customers``, ``silver_orders_enriched``...). This module binds those names to files
(DuckDB views over CSV/Parquet) and wraps SELECTs in ``COPY ... TO parquet``: the engine-specific part.
"""

from __future__ import annotations

import logging
import string
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from lakehouse_core.budget import Budget, current_budget, resource_error
from lakehouse_core.errors import CancelledError, DataError
from lakehouse_core.models import ProgressEvent, TaskResult
from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline.parts import exists, table_rows, table_sql
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.units import progress_note

logger = logging.getLogger(__name__)

PHASE = 1
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARQUET_VERSION V2"
"""zstd level 1 is as small as the default level 3 here and about twice as fast to write; format V2
(delta encodings) is another ~15% smaller and cheaper to write. pyarrow and DuckDB read both."""
_CANCEL_POLL_S = 0.2
PROGRESS_EVERY_S = 1.0
"""A statement running longer than this reports its progress (DuckDB's estimate) this often."""


def sql_text(name: str, **params: str) -> str:
    """Text of ``sql/<name>.sql`` with ``${param}`` placeholders substituted (paths and names only)."""
    raw = resources.files("lakehouse_core.pipeline").joinpath("sql", f"{name}.sql").read_text("utf-8")
    return string.Template(raw).substitute(params)


def quote_path(path: Path | str) -> str:
    """A file path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def timestamp_literal(ts: datetime) -> str:
    """A naive-UTC SQL TIMESTAMP literal (microseconds)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return f"TIMESTAMP '{ts.isoformat(sep=' ', timespec='microseconds')}'"


def utc_now() -> datetime:
    """Current UTC time, naive (the lakehouse stores UTC timestamps without zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def staging_parquet(paths: DataPaths, table: str) -> Path:
    """Flagged raw rows of ``table`` staged by ingest for validate: ``_row``, raw text, ``reason``.

    Its Parquet key-value metadata ``raw_rows`` holds the number of rows ingest read from the CSV.
    """
    return paths.outputs / "staging" / f"{table}_flagged.parquet"


@dataclass
class TaskContext:
    """Runs one task's statements on its own DuckDB connection, with progress and cancellation."""

    name: str
    paths: DataPaths
    progress: ProgressSink = NULL_PROGRESS
    cancel: CancelToken | None = None
    total_steps: int | None = None
    rows: dict[str, int] = field(default_factory=dict)
    done: int = 0
    started: float = field(default_factory=time.perf_counter)
    con: duckdb.DuckDBPyConnection | None = None
    budget: Budget = field(default_factory=current_budget)
    """Memory limit and threads of this task's connection (the running phase's budget)."""
    input_rows: int = 0
    """Rows of the Parquet inputs bound so far (``parquet_view``): the base of the rows/s estimate."""
    running_since: float | None = None
    """``time.perf_counter()`` when the statement running now started; None between statements."""
    csv_bytes: tuple[int, int] = (0, 0)
    """(bytes of raw CSV scanned, bytes of raw CSV in all) of a task that reads raw CSVs; when set,
    its progress is the bytes read (``reading_csv``), not DuckDB's estimate."""
    rows_per_byte: float = 0.0
    """Raw rows per CSV byte (estimated from the files' first lines): the rows/s of a CSV scan."""
    reading: tuple[int, int] | None = None
    """(bytes the process had read when the running CSV scan started, bytes it scans)."""

    def emit(self, kind: str, message: str = "") -> None:
        self.progress.emit(ProgressEvent(
            phase=PHASE, task=self.name, kind=kind,  # type: ignore[arg-type]
            done=self.done, total=self.total_steps, message=message,
        ))

    def log(self, message: str) -> None:
        logger.info("%s: %s", self.name, message)
        self.emit("log", message)

    def report_progress(self) -> None:
        """Emit how far the task is (``43% · 2.1M rows/s · ETA 1m05s``) while a statement has run
        for PROGRESS_EVERY_S. A task reading raw CSVs counts the bytes read (``csv_bytes``); another,
        the steps done plus DuckDB's estimate of the running one, rows/s counting the task's largest
        known row count (its Parquet inputs, or what it has read or written)."""
        con, since = self.con, self.running_since
        if since is None or time.perf_counter() - since < PROGRESS_EVERY_S:
            return
        elapsed = time.perf_counter() - self.started
        done_bytes, all_bytes = self.csv_bytes
        if all_bytes:
            if self.reading is not None and (now := bytes_read()) is not None:
                start, scanning = self.reading
                done_bytes += min(max(now - start, 0), scanning)
            fraction = done_bytes / all_bytes
            rows = done_bytes * self.rows_per_byte if self.rows_per_byte else None
            self.emit("advance", progress_note(fraction, elapsed, rows))
            return
        if con is None:
            return
        try:
            pct = con.query_progress()
        except duckdb.Error:
            return
        if pct < 0:
            return
        steps = max(self.total_steps or 1, 1)
        fraction = (min(self.done, steps) + min(pct, 100.0) / 100) / steps
        known = max(self.input_rows, max(self.rows.values(), default=0))
        self.emit("advance", progress_note(fraction, elapsed, known * fraction if known else None))

    @contextmanager
    def reading_csv(self, nbytes: int) -> Iterator[None]:
        """The statements run inside scan ``nbytes`` of raw CSV: their progress is the bytes this
        process reads meanwhile (DuckDB's own estimate weighs the lookups' small build sides far above
        a CSV scan without statistics, and stays near 100% for the whole scan)."""
        start = bytes_read()
        self.reading = (start, nbytes) if start is not None else None
        try:
            yield
        finally:
            self.reading = None
            done, total = self.csv_bytes
            self.csv_bytes = (done + nbytes, total)

    def check_cancel(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()

    def step(self, message: str = "") -> None:
        """One unit of work finished: advance the progress bar, then honour cancellation."""
        self.done += 1
        self.emit("advance", message)
        self.check_cancel()

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            tmp = self.paths.root / ".duckdb_tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(config={
                **self.budget.duckdb_config(), "temp_directory": str(tmp),
                # no output needs insertion order (ORDER BY still holds); numbered scans turn it on
                "preserve_insertion_order": False,
            })
            # progress is estimated (query_progress) for report_progress, never drawn on the terminal
            self.con.execute("SET enable_progress_bar = true")
            self.con.execute("SET enable_progress_bar_print = false")
        return self.con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; engine errors become DataError, an interrupt becomes CancelledError."""
        self.check_cancel()
        con = self.connection()
        self.running_since = time.perf_counter()
        try:
            cur = con.execute(sql, params) if params else con.execute(sql)
            return cur.fetchall() if cur.description else []
        except duckdb.InterruptException as exc:
            raise CancelledError("cancelled by user") from exc
        except duckdb.Error as exc:
            if self.cancel is not None and self.cancel.cancelled:
                raise CancelledError("cancelled by user") from exc
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            short_of = resource_error(self.name, first, self.budget)
            if short_of is not None:
                raise short_of from exc
            raise DataError(f"{self.name} failed: {first}") from exc
        finally:
            self.running_since = None

    def preserve_order(self, preserve: bool) -> None:
        """Keep file order in scans (``row_number() OVER ()`` = line number) or let DuckDB reorder."""
        self.execute(f"SET preserve_insertion_order = {'true' if preserve else 'false'}")

    def view(self, name: str, select: str) -> None:
        self.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")

    def parquet_view(self, name: str, path: Path) -> None:
        """Bind ``name`` to the live rows of a Parquet file or parted table (``pipeline/parts.py``)."""
        self.view(name, f"SELECT * FROM {table_sql(path)}")
        self.input_rows += table_rows(path)

    def copy_to_parquet(self, select: str, path: Path, metadata: dict[str, str] | None = None) -> int:
        """Write a SELECT to one Parquet file (atomically: temp file then rename, the temp file removed
        if the statement fails or is cancelled); return its rows.

        ``metadata`` becomes the file's key-value metadata (plain names and values only).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        options = PARQUET_OPTIONS
        if metadata:
            pairs = ", ".join(f"{k}: '{v}'" for k, v in metadata.items())
            options += f", KV_METADATA {{{pairs}}}"
        try:
            self.execute(f"COPY ({select}) TO {quote_path(tmp)} ({options})")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(path)
        return self.count(path)

    def count(self, path: Path) -> int:
        """Live rows of a Parquet file or parted table (from the files' metadata)."""
        return table_rows(path)

    def result(self, detail: str = "", outputs: dict[str, Any] | None = None) -> TaskResult:
        seconds = time.perf_counter() - self.started
        self.done = self.total_steps or self.done
        self.emit("finish", detail)
        return TaskResult(name=self.name, seconds=seconds, rows=dict(self.rows), detail=detail,
                          outputs=outputs or {})


def bytes_read() -> int | None:
    """Bytes this process has read from files and pipes so far (Linux ``/proc/self/io`` ``rchar``;
    None elsewhere)."""
    try:
        with open("/proc/self/io", "rb") as fh:
            for line in fh:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@contextmanager
def task_context(
    name: str,
    paths: DataPaths,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    total_steps: int | None = None,
) -> Iterator[TaskContext]:
    """Start a task: emit ``start``, report long statements' progress, interrupt DuckDB when ``cancel``
    fires, close the connection."""
    ctx = TaskContext(name=name, paths=paths, progress=progress, cancel=cancel, total_steps=total_steps)
    ctx.emit("start")
    ctx.check_cancel()
    stop = threading.Event()

    def watch() -> None:
        last = time.perf_counter()
        while not stop.wait(_CANCEL_POLL_S):
            if cancel is not None and cancel.cancelled:
                if ctx.con is not None:
                    ctx.con.interrupt()
                return
            if time.perf_counter() - last >= PROGRESS_EVERY_S:
                last = time.perf_counter()
                ctx.report_progress()

    watcher = threading.Thread(target=watch, name=f"watch-{name}", daemon=True)
    watcher.start()
    try:
        yield ctx
    finally:
        stop.set()
        watcher.join(timeout=1.0)
        if ctx.con is not None:
            ctx.con.close()


def require_files(files: Sequence[Path], hint: str) -> None:
    """Raise DataError naming the first missing input file (or parted table without parts)."""
    for f in files:
        if not exists(f):
            raise DataError(f"missing input {f}: {hint}")
