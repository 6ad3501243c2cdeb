"""ResultSpool: a query result held in memory while small, on disk (memory-mapped Arrow) once large.

A results grid shows the first few thousand rows of a result; the rest is kept for export and for
"showing N of M". Kept as Arrow buffers in the heap, a 1,000,000-row result costs the process its
whole size (20 MB for two columns, ~200 MB for a wide table). Past ``threshold_bytes`` the spool
writes every batch to an uncompressed Arrow IPC file under ``directory`` instead, maps it, and
unlinks it: the result is still one ``pyarrow.Table`` (zero-copy over the mapping), its pages are
read from the page cache only when touched (the rows on screen, an export), the kernel may drop them
under memory pressure, and nothing is left on disk, even after a crash once the file is mapped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import pyarrow as pa

from lakehouse_core.errors import LakehouseError

logger = logging.getLogger(__name__)


WRITE_BYTES = 4 * 1024 * 1024
"""Batches are written to the file in record batches of at least this size: reading the file maps
each batch's header, and the kernel maps 64 kB around every page touched, so DuckDB's 8,192-row
batches written as they come made 1M rows bring ~8 MB of the file into the process."""


class ResultSpool:
    """Collects a result's record batches; ``table()`` gives them as one Table."""

    def __init__(self, schema: pa.Schema, directory: Path | None, threshold_bytes: int) -> None:
        """``directory`` None or ``threshold_bytes`` 0: everything stays in memory."""
        self._schema = schema
        self._directory = directory
        self._threshold = threshold_bytes if directory is not None else 0
        self._batches: list[pa.RecordBatch] = []
        self._held = 0
        self._path: Path | None = None
        self._sink: pa.OSFile | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._pending: list[pa.RecordBatch] = []  # batches not yet written, together < WRITE_BYTES
        self._pending_bytes = 0

    @property
    def spooled(self) -> bool:
        """True once the result went to disk."""
        return self._writer is not None

    def add(self, batch: pa.RecordBatch) -> None:
        if self._writer is not None:
            self._write(batch)
            return
        self._batches.append(batch)
        self._held += batch.nbytes
        if self._threshold and self._held > self._threshold:
            self._start_file()

    def table(self, limit: int | None = None) -> pa.Table:
        """The result (its first ``limit`` rows); the spool is finished (no more ``add``)."""
        if self._writer is None:
            data = pa.Table.from_batches(self._batches, schema=self._schema)
        else:
            data = self._mapped()
        return data if limit is None or data.num_rows <= limit else data.slice(0, limit)

    def discard(self) -> None:
        """Drop what was collected (an error or a cancel); removes the file."""
        self._batches, self._pending = [], []
        self._close_file()
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._path = None

    # ------------------------------------------------------------ the file
    def _start_file(self) -> None:
        assert self._directory is not None
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="result-", suffix=".arrow", dir=self._directory)
            os.close(fd)
            self._path = Path(name)
            self._sink = pa.OSFile(name, "wb")
            self._writer = pa.ipc.new_file(self._sink, self._schema)
        except OSError as exc:
            self.discard()
            reason = exc.strerror or exc
            raise LakehouseError(f"cannot spool the result to {self._directory}: {reason}") from exc
        batches, self._batches, self._held = self._batches, [], 0
        logger.debug("result over %d bytes: spooled to %s", self._threshold, self._path)
        for batch in batches:
            self._write(batch)

    def _write(self, batch: pa.RecordBatch | None) -> None:
        """Write ``batch`` (None: what is pending) in record batches of at least WRITE_BYTES."""
        assert self._writer is not None
        if batch is not None:
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            if self._pending_bytes < WRITE_BYTES:
                return
        if not self._pending:
            return
        try:
            data = pa.Table.from_batches(self._pending, schema=self._schema).combine_chunks()
            self._pending, self._pending_bytes = [], 0
            self._writer.write_table(data)
        except (OSError, pa.ArrowException) as exc:
            path = self._path
            self.discard()
            raise LakehouseError(f"cannot spool the result to {path}: {exc}") from exc

    def _close_file(self) -> None:
        writer, sink, self._writer, self._sink = self._writer, self._sink, None, None
        with contextlib.suppress(OSError, pa.ArrowException):
            if writer is not None:
                writer.close()
            if sink is not None:
                sink.close()

    def _mapped(self) -> pa.Table:
        path = self._path
        assert path is not None and self._writer is not None
        self._write(None)
        try:
            self._writer.close()
            assert self._sink is not None
            self._sink.close()
            self._writer = self._sink = None
            source = pa.memory_map(str(path), "r")
            data = pa.ipc.open_file(source).read_all()  # zero-copy: buffers point into the mapping
        except (OSError, pa.ArrowException) as exc:
            self.discard()
            raise LakehouseError(f"cannot spool the result to {path}: {exc}") from exc
        finally:
            if path.exists():
                with contextlib.suppress(OSError):
                    path.unlink()  # the mapping stays valid; the space is freed with the table
            self._path = None
        return data
