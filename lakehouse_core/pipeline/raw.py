"""Raw data is the user's: which raw CSVs phase 1 reads, when it generates them, and the checks that
need a whole file before DuckDB reads it.

Convention: the raw CSVs of a table are ``raw/<table>.csv`` and ``raw/<table><anything>.csv``
(``DataPaths.raw_files``): ``<table>.csv`` first, then the others in name order. Generation
(``generate_sample_data``) writes ``raw/<table>.csv`` only when asked: ``lakehouse generate``, or
phase 1 with ``settings.generate`` "if-empty" (the default) and no raw CSV at all, or "always".

A whole-file problem (UTF-16, no or a wrong header, another delimiter) raises DataError with one line
naming the file, the line and the cause. Lines that are not UTF-8 are quarantined alone: DuckDB's CSV
reader does not reject them reliably (it checks only the columns a query reads), so they are found
here and blanked in a staged copy that DuckDB reads instead (line numbers stay the same).

DuckDB reads a table's files (``RawSource``) as text, rejecting lines it cannot parse into its rejects
tables; ``raw_view`` binds ``raw_<table>``, the rows ingest types, and ``count_and_reject`` is the scan
that counts keys and collects the rejected lines when a quote is unterminated.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse_core.errors import DataError
from lakehouse_core.fileio import fsync_directory
from lakehouse_core.paths import TABLES, DataPaths
from lakehouse_core.pipeline._duck import TaskContext, quote_path, sql_text
from lakehouse_core.schemas import RAW_COLUMNS

BLOCK = 8 << 20
"""Bytes read per block by the UTF-8 check."""
INVALID_UTF8 = "malformed_row:INVALID ENCODING: the line is not valid UTF-8"
_OTHER_DELIMITERS = (";", "\t", "|")


def existing_raw(paths: DataPaths) -> dict[str, list[Path]]:
    """The raw CSVs of every table (possibly none)."""
    return {t: paths.raw_files(t) for t in TABLES}


def will_generate(paths: DataPaths, mode: str) -> bool:
    """Whether phase 1's first task generates: "always", or "if-empty" when raw/ holds no raw CSV."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    return not any(existing_raw(paths).values())


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def describe_files(files: Iterable[Path]) -> str:
    """``name (size), ...`` of ``files``."""
    return ", ".join(f"{f.name} ({_size(f.stat().st_size)})" for f in files)


def raw_plan(paths: DataPaths, mode: str, generated: str) -> tuple[str, ...]:
    """What phase 1 will read, generate and replace; ``generated`` describes what generation writes."""
    found = existing_raw(paths)
    files = [f for fs in found.values() for f in fs]
    if will_generate(paths, mode):
        lines = [f"raw: will generate {generated} into {paths.raw}"]
        if files:
            lines.append(f"raw: will REPLACE {len(files)} existing files: {describe_files(files)}")
        return tuple(lines)
    total = sum(f.stat().st_size for f in files)
    lines = [f"raw: will read {len(files)} files ({_size(total)}) from {paths.raw}, generating nothing"]
    lines += [f"  {t}: {describe_files(fs)}" for t, fs in found.items() if fs]
    lines += [f"  {t}: no {t}*.csv: ingest will fail" for t, fs in found.items() if not fs]
    return tuple(lines)


def refuse_to_replace(paths: DataPaths) -> None:
    """Raise DataError when raw/ holds raw CSVs (``lakehouse generate`` without ``--overwrite``)."""
    files = [f for fs in existing_raw(paths).values() for f in fs]
    if files:
        raise DataError(f"{paths.raw} already holds {len(files)} raw CSVs: pass --overwrite to replace them")


def write_atomically(staged: Mapping[Path, Path]) -> None:
    """Move each finished temp file (key) over its target (value): a reader sees old or new, never half."""
    for tmp in staged:
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    for tmp, target in staged.items():
        os.replace(tmp, target)
    for directory in {target.parent for target in staged.values()}:
        fsync_directory(directory)  # the renames survive a crash


# ---------------------------------------------------------------- whole-file checks
@dataclass(frozen=True)
class BadLine:
    """A line quarantined before DuckDB reads the file."""

    line: int  # 1-based, the header is line 1
    reason: str
    text: str


def _fail(path: Path, line: int, cause: str) -> DataError:
    return DataError(f"{path}: line {line}: {cause}")


def _check_start(path: Path, head: bytes, columns: tuple[str, ...]) -> None:
    """Encoding, header and delimiter, from the first block of the file."""
    expected = ",".join(columns)
    if not head.strip():
        raise _fail(path, 1, f"empty file; expected the header {expected}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise _fail(path, 1, "UTF-16 or UTF-32 text (NUL bytes); raw CSVs must be UTF-8")
    lines = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 2)
    try:
        header = lines[0].decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _fail(path, 1, "the header is not UTF-8 text; raw CSVs must be UTF-8") from None
    if "," not in header:
        for d in _OTHER_DELIMITERS:
            if header.count(d) == len(columns) - 1:
                raise _fail(path, 1, f"fields are separated by {d!r}; expected ','")
    found = tuple(h.strip().strip('"') for h in header.split(","))
    if found != columns:
        raise _fail(path, 1, f"unexpected CSV header {','.join(found)[:200]}; expected {expected}")
    if len(lines) > 2 or (len(lines) == 2 and lines[1].strip()):
        first = lines[1].decode("utf-8", "replace")
        for d in _OTHER_DELIMITERS:
            if first.count(",") < len(columns) - 1 and first.count(d) >= len(columns) - 1:
                raise _fail(path, 2, f"fields are separated by {d!r}; expected ','")


def _bad_lines(block: bytes, first_line: int) -> list[BadLine]:
    bad = []
    for i, raw in enumerate(block.split(b"\n")):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(BadLine(first_line + i, INVALID_UTF8, raw.decode("utf-8", "replace")))
    return bad


def _is_utf8(path: Path, columns: tuple[str, ...]) -> bool:
    """Check the start of ``path`` (``_check_start``); return whether the whole file is UTF-8.

    The fast pass: blocks are not cut at line ends and lines are not counted (counting newlines costs
    four times the check); a pure ASCII block (the usual case) needs no decoding, and an incremental
    decoder carries a character split between two blocks over.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with open(path, "rb") as fh:
        head = fh.read(BLOCK)
        _check_start(path, head, columns)
        block = head
        try:
            while block:
                if not block.isascii():
                    decoder.decode(block)
                block = fh.read(BLOCK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def check_file(path: Path, columns: tuple[str, ...]) -> list[BadLine]:
    """Check ``path`` as a raw CSV of ``columns``; return its lines that are not UTF-8.

    Raises:
        DataError: a whole-file problem, in one line naming the file, the line and the cause.
    """
    if _is_utf8(path, columns):
        return []
    bad: list[BadLine] = []
    line = 1
    carry = b""
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            block = carry + block
            cut = block.rfind(b"\n") + 1
            block, carry = block[:cut], block[cut:]
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                bad += _bad_lines(block[:-1], line)
            line += block.count(b"\n")
    if carry:
        try:
            carry.decode("utf-8")
        except UnicodeDecodeError:
            bad += _bad_lines(carry, line)
    if bad and bad[0].line == 1:
        raise _fail(path, 1, "the header is not UTF-8 text; raw CSVs must be UTF-8")
    return bad


def blank_lines(source: Path, target: Path, lines: set[int]) -> None:
    """Copy ``source`` to ``target`` with the given 1-based ``lines`` emptied (DuckDB skips blank lines)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(target, "wb") as dst:
        for n, raw in enumerate(src, start=1):
            dst.write(b"\n" if n in lines else raw)


# ---------------------------------------------------------------- DuckDB's scans
KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id"}
"""The key of each raw table: a later line repeating a key is flagged as a duplicate."""
MAX_RESCANS = 20
"""Unterminated quotes a table's files may hold: each costs one more scan."""


@dataclass
class RawSource:
    """The raw CSVs of one table, the lines quarantined before DuckDB reads them, and what it reads."""

    table: str
    files: list[Path]
    bad: dict[Path, list[BadLine]] = field(default_factory=dict)

    def scan_path(self, paths: DataPaths, f: Path) -> Path:
        return paths.root / "staging" / "raw" / f.name if self.bad.get(f) else f

    def nbytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    def estimated_rows(self) -> float:
        """Data lines of the files, from the length of the lines in each file's first MiB."""
        rows = 0.0
        for f in self.files:
            with open(f, "rb") as fh:
                head = fh.read(1 << 20)
            lines = head.count(b"\n")
            if lines:
                rows += f.stat().st_size * lines / len(head) - 1
        return max(rows, 0.0)

    def stage(self, paths: DataPaths) -> None:
        for f, lines in self.bad.items():
            if lines:
                blank_lines(f, self.scan_path(paths, f), {b.line for b in lines})

    def csv(self, paths: DataPaths, *, store_rejects: bool) -> str:
        """``read_csv`` of every file, every column as text, ``filename``; bad lines skipped."""
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in RAW_COLUMNS[self.table])
        files = ", ".join(quote_path(self.scan_path(paths, f)) for f in self.files)
        errors = "store_rejects = true" if store_rejects else "ignore_errors = true"
        return (f"read_csv([{files}], header = true, auto_detect = false, delim = ',', quote = '\"', "
                f"escape = '\"', null_padding = true, filename = true, {errors}, columns = {{{columns}}})")

    def source(self, paths: DataPaths, column: str) -> str:
        """SQL mapping the scanned file name in ``column`` back to the user's file."""
        staged = [f for f in self.files if self.bad.get(f)]
        if not staged:
            return column
        cases = " ".join(f"WHEN {quote_path(self.scan_path(paths, f))} THEN {quote_path(f)}" for f in staged)
        return f"CASE {column} {cases} ELSE {column} END"


def raw_view(ctx: TaskContext, src: RawSource, *, numbered: bool, store_rejects: bool = False) -> None:
    """Bind ``raw_<table>``: the parsed rows (every column as text, ``_row`` = ordinal in file order,
    ``_source`` = the file) and then the rejected lines of ``rejects_<table>`` (``_reject`` = reason).

    Numbering is ``row_number() OVER ()``: file order is guaranteed, but the scan runs on one thread,
    so scans that need no ordinal bind ``_row`` to NULL and stay parallel. ``store_rejects``: the scan
    also records the lines it rejects in DuckDB's rejects tables.
    """
    table, cols = src.table, RAW_COLUMNS[src.table]
    row = "row_number() OVER () - 1" if numbered else "CAST(NULL AS BIGINT)"
    ctx.preserve_order(numbered)
    nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in cols)
    ctx.view(f"raw_{table}",
             f"SELECT {row} AS _row, {', '.join(cols)}, {src.source(ctx.paths, 'filename')} AS _source, "
             f"CAST(NULL AS VARCHAR) AS _reject, CAST(NULL AS BIGINT) AS _line, "
             f"CAST(NULL AS VARCHAR) AS _csv_line "
             f"FROM {src.csv(ctx.paths, store_rejects=store_rejects)} "
             f"UNION ALL SELECT CAST(NULL AS BIGINT), {nulls}, source_file, reason, line, csv_line "
             f"FROM rejects_{table}")


def collect_rejects(ctx: TaskContext, src: RawSource) -> list[tuple[Any, ...]]:
    """Fill ``rejects_<table>`` (source_file, line, reason, csv_line, unquoted) from the rejects tables
    of the last scan with ``store_rejects``; return the lines of unterminated quotes."""
    table = src.table
    ctx.execute(f"""CREATE OR REPLACE TEMP TABLE rejects_{table} AS
        SELECT {src.source(ctx.paths, 's.file_path')} AS source_file, e.line AS line,
            'malformed_row:' || arg_max(e.error_type || ': ' || e.error_message, e.byte_position)
                AS reason,
            arg_max(e.csv_line, e.byte_position) AS csv_line,
            bool_or(e.error_type = 'UNQUOTED VALUE') AS unquoted
        FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id)
        GROUP BY ALL""")
    return ctx.execute(f"SELECT source_file, line, reason, csv_line FROM rejects_{table} WHERE unquoted")


def add_bad_lines(ctx: TaskContext, src: RawSource) -> int:
    """Add the lines quarantined before DuckDB read the files to ``rejects_<table>``; return its rows."""
    table = src.table
    ctx.execute(f"ALTER TABLE rejects_{table} DROP COLUMN unquoted")
    for f, lines in src.bad.items():
        for b in lines:
            ctx.execute(f"INSERT INTO rejects_{table} VALUES (?, ?, ?, ?)",
                        [str(f), b.line, b.reason, b.text])
    (rejected,), = ctx.execute(f"SELECT COUNT(*) FROM rejects_{table}")
    return int(rejected)


def drop_rejects(ctx: TaskContext) -> None:
    """Empty DuckDB's rejects tables (it appends every scan's rejects to them)."""
    ctx.execute("DROP TABLE IF EXISTS temp.reject_errors")
    ctx.execute("DROP TABLE IF EXISTS temp.reject_scans")


def count_and_reject(ctx: TaskContext, src: RawSource) -> tuple[int, int]:
    """Count the parsed rows and the duplicated keys (temp table ``key_counts_<table>``) and fill
    ``rejects_<table>`` (source_file, line, reason, csv_line) with the lines DuckDB's CSV reader rejected
    and those found before it. An unterminated quote swallows the rest of its file: its line is
    blanked and the files scanned again, so it is quarantined alone.

    Returns (raw rows: parsed and rejected, duplicated keys).
    """
    table, key = src.table, KEYS[src.table]
    for _ in range(MAX_RESCANS + 1):
        src.stage(ctx.paths)
        drop_rejects(ctx)
        ctx.view(f"csv_{table}", f"SELECT {key} FROM {src.csv(ctx.paths, store_rejects=True)}")
        ctx.execute(f"CREATE OR REPLACE TEMP TABLE key_counts_{table} AS "
                    f"{sql_text('key_counts', table=table, key=key)}")
        unquoted = collect_rejects(ctx, src)
        if not unquoted:
            break
        by_name = {str(f): f for f in src.files}
        for source_file, line, reason, csv_line in unquoted:
            first = str(csv_line).split("\n", 1)[0]
            src.bad.setdefault(by_name[source_file], []).append(BadLine(int(line), str(reason), first))
    else:
        raise DataError(
            f"{table}: more than {MAX_RESCANS} unterminated quotes in {describe_files(src.files)}")
    rejected = add_bad_lines(ctx, src)
    (parsed, dup_keys), = ctx.execute(
        f"SELECT COALESCE(MAX(n) FILTER (WHERE is_total), 0), COUNT(*) FILTER (WHERE NOT is_total) "
        f"FROM key_counts_{table}")
    return int(parsed) + rejected, int(dup_keys)
