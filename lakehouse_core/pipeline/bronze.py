"""Phase-1 tasks 2 and 3: raw CSV -> bronze Parquet (typed, flagged), then quarantine + quality report.

Ingest writes each table's bronze from one parallel scan of its CSVs (``raw/<table>*.csv``, read as
``pipeline/raw.py`` says), which also collects the lines DuckDB's CSV reader rejects (its rejects
tables: too many columns, an unterminated quote, a line over the maximum size); the duplicated keys are
then counted on the written keys. When no line was rejected (by DuckDB or before it) and no key
repeats, that write is bronze; only if some row is flagged, one serial scan numbers the raw rows again
to stage the flagged rows' original text (with ordinals: the file order of the quarantine). Otherwise
one serial scan copies the raw rows with their ordinals (``_row``) to a staging Parquet, and the
duplicates' first lines, bronze and the flagged rows are all read from it in parallel. An unterminated
quote swallows the rest of its file: its line is blanked and the files scanned again
(``count_and_reject``). A rejected line is a bronze row of NULLs flagged ``malformed_row:<DuckDB's
error type>: <its message>``, quarantined with its line number. The staging files are removed when the
table is done, or the task fails.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lakehouse_core.errors import DataError
from lakehouse_core.models import TaskResult
from lakehouse_core.paths import TABLES, DataPaths
from lakehouse_core.pipeline._duck import (
    TaskContext,
    quote_path,
    require_files,
    sql_text,
    staging_parquet,
    task_context,
    timestamp_literal,
    utc_now,
)
from lakehouse_core.pipeline.incremental import (
    Increment,
    base_paths,
    delta_paths,
    plan_increment,
    read_plan,
    save_plan,
)
from lakehouse_core.pipeline.keys import key_stats
from lakehouse_core.pipeline.merge import bronze_flags, merge_bronze, merge_quarantine, merge_report
from lakehouse_core.pipeline.parts import (
    keep_only,
    link_or_copy,
    link_table,
    part_path,
    table_rows,
    table_sql,
)
from lakehouse_core.pipeline.raw import (
    KEYS,
    RawSource,
    add_bad_lines,
    check_file,
    collect_rejects,
    count_and_reject,
    drop_rejects,
    raw_view,
)
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.schemas import BRONZE, RAW_COLUMNS
from lakehouse_core.settings import BronzeChecks

VALID = "valid"


def reason_code(reason: str) -> str:
    """Check of a quarantine reason: the text before ``:`` ("invalid_status:x" -> "invalid_status")."""
    return reason.split(":", 1)[0]


def _first_rows(ctx: TaskContext, src: RawSource, dup_keys: int) -> None:
    """Fill temp table ``dups_<table>`` (dup_id, first_row) from ``raw_<table>`` (numbered if
    ``dup_keys``) and ``key_counts_<table>``."""
    table, key = src.table, KEYS[src.table]
    if dup_keys:
        ctx.execute(f"CREATE OR REPLACE TEMP TABLE dups_{table} AS "
                    f"{sql_text('first_rows', table=table, key=key)}")
    else:
        ctx.execute(f"CREATE OR REPLACE TEMP TABLE dups_{table} (dup_id BIGINT, first_row BIGINT)")


def _write_part(ctx: TaskContext, table: str, stamp: str, part: Path) -> int:
    """Write bronze (every row of ``raw_<table>``, typed, flagged) to ``part``; return its rows."""
    ctx.view(f"flagged_{table}", sql_text(f"bronze_{table}"))
    columns = ", ".join(f.name for f in BRONZE[table] if f.name not in
                        ("ingested_at", "data_quality_flag", "source_file"))
    return ctx.copy_to_parquet(
        f"SELECT {columns}, {stamp} AS ingested_at, data_quality_flag, _source AS source_file "
        f"FROM flagged_{table}",
        part)


def _stage_flagged(
    ctx: TaskContext, src: RawSource, part: Path, raw_rows: int, *, numbered: bool
) -> dict[str, int]:
    """Stage the raw text of the rows of ``part`` that are flagged for validate, numbering the raw
    rows first (a serial scan) unless ``raw_<table>`` is ``numbered``; return the rows per flag."""
    table = src.table
    flags = {str(f): int(c) for f, c in ctx.execute(
        f"SELECT data_quality_flag, COUNT(*) FROM read_parquet({quote_path(part)}) GROUP BY 1")}
    staged = ", ".join(f"raw_{c} AS {c}" for c in RAW_COLUMNS[table])
    select = (f"SELECT _row, {staged}, data_quality_flag AS reason, _source AS source_file, _line AS line, "
              f"_csv_line AS csv_line FROM flagged_{table}")
    if sum(flags.values()) - flags.get(VALID, 0):  # same flags again, now with line numbers and raw text
        if not numbered:
            raw_view(ctx, src, numbered=True)
        select += f" WHERE data_quality_flag <> '{VALID}'"
    else:
        select += " LIMIT 0"
    ctx.copy_to_parquet(select, staging_parquet(ctx.paths, table), {"raw_rows": str(raw_rows)})
    return flags


def _single_scan(ctx: TaskContext, src: RawSource, stamp: str, target: Path) -> tuple[int, int] | None:
    """Write bronze to ``target`` (a staging file) from one parallel scan that also records the lines
    DuckDB's reader rejects, then fill ``rejects_<table>`` and count the duplicated keys on the
    written typed keys (the keys ``key_counts.sql`` groups) into ``key_counts_<table>``.

    Returns (raw rows: written and rejected, duplicated keys), or None when a quote is unterminated.
    """
    table, key = src.table, KEYS[src.table]
    src.stage(ctx.paths)
    drop_rejects(ctx)
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE rejects_{table} "
                f"(source_file VARCHAR, line BIGINT, reason VARCHAR, csv_line VARCHAR)")
    _first_rows(ctx, src, 0)
    raw_view(ctx, src, numbered=False, store_rejects=True)
    written = _write_part(ctx, table, stamp, target)
    if collect_rejects(ctx, src):
        return None
    rejected = add_bad_lines(ctx, src)
    parquet = f"read_parquet({quote_path(target)})"
    _, keys, distinct = key_stats(ctx.execute, parquet, key)
    if keys == distinct:
        return written + rejected, 0
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE key_counts_{table} AS SELECT {key} AS dup_id, "
                f"COUNT(*) AS n, false AS is_total FROM {parquet} WHERE {key} IS NOT NULL "
                f"GROUP BY 1 HAVING COUNT(*) > 1")
    (dup_keys,), = ctx.execute(f"SELECT COUNT(*) FROM key_counts_{table}")
    return written + rejected, int(dup_keys)


def _number_rows(ctx: TaskContext, src: RawSource, target: Path) -> None:
    """Copy ``raw_<table>`` numbered (one serial scan) to ``target`` (a staging file) and bind
    ``raw_<table>`` to it: the scans that need ordinals read it in parallel."""
    raw_view(ctx, src, numbered=True)
    ctx.copy_to_parquet(f"SELECT * FROM raw_{src.table}", target)
    ctx.preserve_order(False)
    ctx.view(f"raw_{src.table}", f"SELECT * FROM read_parquet({quote_path(target)})")


def _strict_types(ctx: TaskContext, checks: BronzeChecks) -> None:
    """Create the typing macros of ``sql/strict_types.sql`` with the ranges of ``checks``."""
    text = sql_text("strict_types", date_min=checks.date_min.isoformat(),
                    date_max=checks.latest_date().isoformat(),
                    quantity_min=str(int(checks.quantity_min)), quantity_max=str(int(checks.quantity_max)))
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    for statement in code.split(";"):
        if statement.strip():
            ctx.execute(statement)


def ingest_to_bronze(
    paths: DataPaths,
    *,
    run_id: str,
    ingested_at: datetime | None = None,
    checks: BronzeChecks | None = None,
    incremental: bool = False,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Type every raw CSV row strictly into data/bronze/<table>.parquet (schemas.BRONZE).

    Every raw row lands in bronze (in no particular order), ``source_file`` naming its file;
    ``data_quality_flag`` is "valid" or the first failed check's reason; of lines sharing a key, the
    first in file order is the one kept. Integers must be integers (``invalid_integer``), money has at
    most two decimals (``invalid_amount``), ids are > 0 (``invalid_id``), dates are YYYY-MM-DD within
    ``checks`` (``date_out_of_range``), so is the quantity (``quantity_out_of_range``). The flagged rows'
    original text is staged for validate_data_quality. Customers and products are flagged first: an
    order is an orphan unless its customer and product are valid. ``ingested_at`` defaults to now (UTC),
    ``checks`` to the defaults of BronzeChecks.

    ``incremental``: read only the raw files the published run's ledger lacks and upsert their rows
    by key (``pipeline/incremental.py``); a run with nothing new writes nothing but its plan.

    Raises:
        DataError: a table has no raw CSV, or a whole-file problem (one line: file, line, cause).
        CancelledError: ``cancel`` was triggered.
    """
    stamp = timestamp_literal(ingested_at or utc_now())
    with task_context("ingest_to_bronze", paths, progress, cancel, total_steps=2 * len(TABLES)) as ctx:
        paths.ensure()
        increment, ledger = plan_increment(paths, incremental=incremental)
        if increment.mode == "unchanged":
            save_plan(paths, increment, ledger)
            return ctx.result(f"nothing new: {increment.reason}",
                              {"run_id": run_id, "increment": increment.to_json(), "valid_rows": {}})
        sources = {t: RawSource(t, increment.paths(t)) for t in TABLES}
        if increment.mode == "full":
            for table, src in sources.items():
                if not src.files:
                    raise DataError(f"missing input {paths.raw / (table + '*.csv')}: add raw CSVs or run "
                                    f"`lakehouse generate`")
        for src in sources.values():
            src.bad = {f: check_file(f, RAW_COLUMNS[src.table]) for f in src.files}
        _strict_types(ctx, checks or BronzeChecks())
        to_scan = [s for s in sources.values() if s.files]
        ctx.csv_bytes = (0, sum(s.nbytes() for s in to_scan))
        if ctx.csv_bytes[1]:
            ctx.rows_per_byte = sum(s.estimated_rows() for s in to_scan) / ctx.csv_bytes[1]
        if increment.mode == "incremental":
            ctx.paths = delta_paths(paths).ensure()
        valid: dict[str, int] = {}
        replaced: dict[str, int] = {}
        for table in TABLES:
            src = sources[table]
            if increment.mode == "full":
                flags = _ingest_table(ctx, src, stamp, parents=paths, run_id=run_id)
            elif src.files:  # new rows into delta/, then merged with the base run's
                _ingest_table(ctx, src, stamp, parents=paths, run_id=run_id)
                replaced[table] = merge_bronze(ctx, table, base_paths(paths, increment), paths, run_id)
                flags = bronze_flags(ctx, paths.bronze_parquet(table))
            else:
                link_table(base_paths(paths, increment).bronze_parquet(table), paths.bronze_parquet(table))
                flags = bronze_flags(ctx, paths.bronze_parquet(table))
            n = ctx.rows[f"bronze.{table}"] = sum(flags.values())
            valid[table] = flags.get(VALID, 0)
            ctx.step(f"bronze.{table}: {n:,} rows, {n - valid[table]:,} flagged")
        increment = Increment(increment.mode, increment.base_run, increment.files, increment.reason, replaced)
        save_plan(paths, increment, ledger)
        detail = ", ".join(f"{t} {ctx.rows[f'bronze.{t}']:,}" for t in TABLES)
        if increment.mode == "incremental":
            detail += f" ({increment.reason}; replaced {sum(replaced.values()):,} rows)"
        return ctx.result(f"bronze: {detail}",
                          {"run_id": run_id, "valid_rows": valid, "increment": increment.to_json()})


def _ingest_table(
    ctx: TaskContext, src: RawSource, stamp: str, parents: DataPaths, run_id: str
) -> dict[str, int]:
    """Type ``src``'s files into ``ctx.paths``' bronze; orders are checked against the valid customers
    and products of ``parents``. Returns the rows per flag."""
    table = src.table
    if table == "orders":
        for parent, key in (("customers", "customer_id"), ("products", "product_id")):
            parent_rows = table_sql(parents.bronze_parquet(parent))
            ctx.execute(f"CREATE OR REPLACE TEMP TABLE valid_{key}s AS SELECT {key} "
                        f"FROM {parent_rows} WHERE data_quality_flag = '{VALID}'")
    part = part_path(ctx.paths.bronze_parquet(table), run_id)
    single = ctx.paths.outputs / "staging" / f"{table}_bronze.parquet"
    ordinals = ctx.paths.outputs / "staging" / f"{table}_raw.parquet"
    try:
        with ctx.reading_csv(src.nbytes()):
            scanned = _single_scan(ctx, src, stamp, single)
        if scanned is None:  # the unterminated quotes' lines are blanked, the files scanned again
            raw_rows, dup_keys = count_and_reject(ctx, src)
            raw_view(ctx, src, numbered=dup_keys > 0)
        else:
            raw_rows, dup_keys = scanned
        _read_step(ctx, table, raw_rows, dup_keys)
        if scanned is not None and raw_rows == table_rows(single) and not dup_keys:
            part.parent.mkdir(parents=True, exist_ok=True)
            single.replace(part)  # clean: no rejected line, no repeated key
            keep_only(part)
            return _stage_flagged(ctx, src, part, raw_rows, numbered=False)
        if scanned is not None:
            _number_rows(ctx, src, ordinals)
        _first_rows(ctx, src, dup_keys)
        n = _write_part(ctx, table, stamp, part)
        keep_only(part)
        if n != raw_rows:
            raise DataError(f"bronze.{table} has {n} rows but raw has {raw_rows}")
        return _stage_flagged(ctx, src, part, raw_rows, numbered=scanned is not None or dup_keys > 0)
    finally:
        single.unlink(missing_ok=True)
        ordinals.unlink(missing_ok=True)


def _read_step(ctx: TaskContext, table: str, raw_rows: int, dup_keys: int) -> None:
    ctx.rows[f"raw.{table}"] = raw_rows
    ctx.step(f"read raw.{table}: {raw_rows:,} rows, {dup_keys:,} duplicated keys")


def _table_quality(ctx: TaskContext, table: str, stamp: str) -> dict[str, Any]:
    paths = ctx.paths
    staged = staging_parquet(paths, table)
    ctx.parquet_view(f"flagged_{table}", staged)
    raw_rows = int((pq.read_metadata(staged).metadata or {}).get(b"raw_rows", b"-1"))
    reasons = {str(r): int(n) for r, n in ctx.execute(
        f"SELECT data_quality_flag, COUNT(*) FROM {table_sql(paths.bronze_parquet(table))} "
        f"GROUP BY 1 ORDER BY 1")}
    bronze_rows = sum(reasons.values())
    valid_rows = reasons.pop(VALID, 0)
    quarantined = sum(reasons.values())
    staged_reasons = {str(r): int(n) for r, n in ctx.execute(
        f"SELECT reason, COUNT(*) FROM flagged_{table} GROUP BY 1 ORDER BY 1")}
    select = sql_text(
        "quarantine", table=table, quarantined_at=stamp, raw_columns=", ".join(RAW_COLUMNS[table]))
    written = ctx.copy_to_parquet(select, paths.quarantine_parquet(table))
    if not raw_rows == bronze_rows == valid_rows + quarantined or written != quarantined:
        raise DataError(
            f"{table}: counts do not reconcile: raw {raw_rows}, bronze {bronze_rows}, valid {valid_rows}, "
            f"quarantined {quarantined} (written {written})")
    if staged_reasons != reasons:
        raise DataError(f"{table}: quarantined reasons {staged_reasons} do not match bronze flags {reasons}")
    checks: Counter[str] = Counter()
    for reason, n in reasons.items():
        checks[reason_code(reason)] += n
    return {
        "raw_rows": raw_rows, "bronze_rows": bronze_rows, "valid_rows": valid_rows,
        "quarantined_rows": quarantined, "checks": dict(sorted(checks.items())),
        "reasons": reasons, "passed": quarantined == 0,
    }


def validate_data_quality(
    paths: DataPaths,
    *,
    run_id: str = "",
    quarantined_at: datetime | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Quarantine every flagged row with its original CSV text and write the JSON quality report.

    Writes data/quarantine/<table>.parquet (every raw column as text + ``reason`` + ``quarantined_at``)
    and ``paths.quality_report``: per table raw_rows, bronze_rows, valid_rows, quarantined_rows,
    ``checks`` (failures per check, first failed check of each row), ``reasons`` and ``passed``.

    Raises:
        DataError: bronze or the rows staged by ingest are missing, raw = bronze = valid + quarantined
            does not hold, or the staged rows' reasons differ from the bronze flags.
    """
    now = quarantined_at or utc_now()
    with task_context("validate_data_quality", paths, progress, cancel, total_steps=len(TABLES) + 1) as ctx:
        increment = read_plan(paths)
        if increment.mode == "unchanged":
            return ctx.result(f"nothing new: {increment.reason}", {"quality_failures": 0})
        tables: dict[str, Any] = {}
        if increment.mode == "incremental":
            base = base_paths(paths, increment)
            base_report = json.loads(base.quality_report.read_text(encoding="utf-8"))["tables"]
            ctx.paths = delta_paths(paths)
            for table in TABLES:
                if increment.files.get(table):
                    delta = _table_quality(ctx, table, timestamp_literal(now))
                    merge_quarantine(ctx, table, base, paths)
                else:
                    delta = {}
                    link_or_copy(base.quarantine_parquet(table), paths.quarantine_parquet(table))
                tables[table] = merge_report(base_report[table], delta, increment.replaced.get(table, 0))
                ctx.rows[f"quarantine.{table}"] = tables[table]["quarantined_rows"]
                ctx.step(f"{table}: {tables[table]['quarantined_rows']:,} quarantined "
                         f"({int(delta.get('quarantined_rows', 0)):,} new)")
        else:
            inputs = [paths.bronze_parquet(t) for t in TABLES] + [staging_parquet(paths, t) for t in TABLES]
            require_files(inputs, "run ingest_to_bronze first")
            for table in TABLES:
                tables[table] = _table_quality(ctx, table, timestamp_literal(now))
                ctx.rows[f"quarantine.{table}"] = tables[table]["quarantined_rows"]
                ctx.step(f"{table}: {tables[table]['quarantined_rows']:,} quarantined")
        report = {
            "run_id": run_id, "generated_at": now.isoformat(timespec="seconds") + "Z",
            "passed": all(t["passed"] for t in tables.values()), "tables": tables,
            "increment": increment.to_json(),
        }
        paths.quality_report.parent.mkdir(parents=True, exist_ok=True)
        paths.quality_report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        ctx.step("quality report written")
        failures = sum(t["quarantined_rows"] for t in tables.values())
        return ctx.result(f"{failures:,} rows quarantined",
                          {"report": report, "quality_failures": failures})
