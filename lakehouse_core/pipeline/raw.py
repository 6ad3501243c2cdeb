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
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lakehouse_core.errors import DataError
from lakehouse_core.fileio import fsync_directory
from lakehouse_core.paths import TABLES, DataPaths

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


def check_file(path: Path, columns: tuple[str, ...]) -> list[BadLine]:
    """Check ``path`` as a raw CSV of ``columns``; return its lines that are not UTF-8.

    Raises:
        DataError: a whole-file problem, in one line naming the file, the line and the cause.
    """
    bad: list[BadLine] = []
    line = 1
    carry = b""
    with open(path, "rb") as fh:
        first = True
        while block := fh.read(BLOCK):
            if first:
                _check_start(path, block, columns)
                first = False
            block = carry + block
            cut = block.rfind(b"\n") + 1
            block, carry = block[:cut], block[cut:]
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                bad += _bad_lines(block[:-1], line)
            line += block.count(b"\n")
        if first:
            _check_start(path, b"", columns)
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
