"""Parted tables: bronze and silver stored as part files plus positional deletes.

A parted table is a directory ``<layer>/<table>.parquet/`` (as Spark and pyarrow write datasets):
- ``part-<run id>.parquet``: the rows run ``<run id>`` added. A full run writes one part; an
  incremental run writes its new rows as its part and hard-links the parts of the run it builds on.
- ``_deletes.parquet`` (``part`` file name, ``pos`` row number in it): rows of earlier parts that later
  rows superseded (an order re-delivered with new values). Parts are never rewritten.

The live rows are the parts' rows minus the deleted positions: every reader goes through
``table_sql`` (DuckDB), ``live_batches`` (Arrow) or ``table_rows`` (counts from the files' metadata),
which accept a plain Parquet file as well (gold, quarantine).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PART_GLOB = "part-*.parquet"
DELETES = "_deletes.parquet"
"""Under the table directory; the leading ``_`` keeps pyarrow datasets from reading it as data."""


def part_path(table_dir: Path, run_id: str) -> Path:
    """The part run ``run_id`` writes into ``table_dir``."""
    return table_dir / f"part-{run_id or 'run'}.parquet"


def parts(table_dir: Path) -> list[Path]:
    """The part files of a parted table, by name."""
    return sorted(table_dir.glob(PART_GLOB)) if table_dir.is_dir() else []


def deletes_path(table_dir: Path) -> Path:
    return table_dir / DELETES


def deleted_rows(table_dir: Path) -> int:
    path = deletes_path(table_dir)
    return pq.read_metadata(path).num_rows if path.is_file() else 0


def exists(path: Path) -> bool:
    """A Parquet file, or a parted table with at least one part."""
    return path.is_file() or bool(parts(path))


def table_rows(path: Path) -> int:
    """Live rows of a Parquet file or a parted table (from metadata: no data is read)."""
    if path.is_file():
        return int(pq.read_metadata(path).num_rows)
    return sum(int(pq.read_metadata(p).num_rows) for p in parts(path)) - deleted_rows(path)


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _files(table_dir: Path) -> str:
    found = parts(table_dir)
    if not found:
        raise FileNotFoundError(f"no part files in {table_dir}")
    return "[" + ", ".join(_quote(p) for p in found) + "]"


def table_sql(path: Path, *, positions: bool = False) -> str:
    """A DuckDB relation (parenthesised SELECT) of the live rows of a Parquet file or parted table.

    ``positions``: with ``_part`` (part file name) and ``_pos`` (row number in it), a parted table only.
    """
    if path.is_file() and not positions:
        return f"(SELECT * FROM read_parquet({_quote(path)}))"
    files = _files(path)
    deletes = deletes_path(path)
    if not positions and not deletes.is_file():
        return f"(SELECT * FROM read_parquet({files}))"
    scan = (f"(SELECT * EXCLUDE (filename, file_row_number), parse_filename(filename) AS _part, "
            f"file_row_number AS _pos FROM read_parquet({files}, filename = true, file_row_number = true))")
    if deletes.is_file():
        scan = (f"(SELECT p.* FROM {scan} p ANTI JOIN read_parquet({_quote(deletes)}) d "
                f"ON d.part = p._part AND d.pos = p._pos)")
    return scan if positions else f"(SELECT * EXCLUDE (_part, _pos) FROM {scan})"


def _deleted_positions(table_dir: Path) -> dict[str, pa.Array]:
    path = deletes_path(table_dir)
    if not path.is_file():
        return {}
    deletes = pq.read_table(path)
    out: dict[str, pa.Array] = {}
    for name in pc.unique(deletes.column("part")).to_pylist():
        mask = pc.equal(deletes.column("part"), name)
        out[name] = deletes.filter(mask).column("pos").combine_chunks()
    return out


def live_batches(path: Path, columns: list[str] | None = None, batch_size: int = 128 * 1024,
                 ) -> Iterator[pa.RecordBatch]:
    """The live rows of a Parquet file or parted table as record batches (deleted rows filtered out)."""
    if path.is_file():
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns)
        return
    deleted = _deleted_positions(path)
    for part in parts(path):
        gone = deleted.get(part.name)
        start = 0
        for batch in pq.ParquetFile(part).iter_batches(batch_size=batch_size, columns=columns):
            n = batch.num_rows
            if gone is not None:
                pos = pa.array(range(start, start + n), pa.int64())
                batch = batch.filter(pc.invert(pc.is_in(pos, value_set=gone)))
            start += n
            yield batch


def read_live(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Every live row of a Parquet file or parted table."""
    first = path if path.is_file() else parts(path)[0]
    schema = pq.read_schema(first)
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    return pa.Table.from_batches(list(live_batches(path, columns)), schema)


def schema_of(path: Path) -> pa.Schema:
    """The Arrow schema of a Parquet file or parted table."""
    return pq.read_schema(path if path.is_file() else parts(path)[0])


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` holding ``source``'s bytes: a hard link (run files are never modified), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def link_table(source: Path, target: Path, *, deletes: bool = True) -> None:
    """``target`` holding ``source``'s parts (and its deletes unless ``deletes`` is False), as links."""
    for part in parts(source):
        link_or_copy(part, target / part.name)
    if deletes and deletes_path(source).is_file():
        link_or_copy(deletes_path(source), deletes_path(target))


def keep_only(part: Path) -> None:
    """Remove every other part and the deletes of ``part``'s table (a full rewrite in a reused dir)."""
    for other in parts(part.parent):
        if other != part:
            other.unlink()
    deletes_path(part.parent).unlink(missing_ok=True)
