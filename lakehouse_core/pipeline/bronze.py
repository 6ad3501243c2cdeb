"""Phase-1 tasks 2 and 3: raw CSV -> bronze Parquet (typed, flagged), then quarantine + quality report.

Ingest reads each CSV a few times rather than copying it: one parallel scan counts the rows and finds
duplicated keys, one writes bronze, and one (only if some row is flagged) stages the flagged rows'
original text. Line numbers (a serial scan) are used only where they matter: which line of a
duplicated key comes first, and the file order of the quarantine.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
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
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.schemas import BRONZE, RAW_COLUMNS

VALID = "valid"


def reason_code(reason: str) -> str:
    """Check of a quarantine reason: the text before ``:`` ("invalid_status:x" -> "invalid_status")."""
    return reason.split(":", 1)[0]


def _check_header(ctx: TaskContext, table: str) -> None:
    path = ctx.paths.raw_csv(table)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = fh.readline().strip()
    found = tuple(h.strip().strip('"') for h in header.split(",")) if header else ()
    if found != RAW_COLUMNS[table]:
        raise DataError(
            f"{path}: unexpected CSV header {','.join(found) or '(empty file)'}; "
            f"expected {','.join(RAW_COLUMNS[table])}")


KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id"}
"""The key of each raw table: a later line repeating a key is flagged as a duplicate."""


def _raw_view(ctx: TaskContext, table: str, *, numbered: bool) -> None:
    """Bind ``raw_<table>`` to the CSV, every column as text, ``_row`` = 0-based line number.

    Numbering is ``row_number() OVER ()``: file order is guaranteed, but the scan runs on one thread,
    so scans that need no line number bind ``_row`` to NULL and stay parallel.
    """
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in RAW_COLUMNS[table])
    csv = (f"read_csv({quote_path(ctx.paths.raw_csv(table))}, header = true, auto_detect = false, "
           f"delim = ',', quote = '\"', escape = '\"', null_padding = true, columns = {{{columns}}})")
    row = "row_number() OVER () - 1" if numbered else "CAST(NULL AS BIGINT)"
    ctx.preserve_order(numbered)
    ctx.view(f"raw_{table}", f"SELECT {row} AS _row, * FROM {csv}")


def _find_duplicates(ctx: TaskContext, table: str) -> tuple[int, int]:
    """Fill temp table ``dups_<table>`` (dup_id, first_row); return (raw rows, duplicated keys)."""
    key = KEYS[table]
    _raw_view(ctx, table, numbered=False)
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE key_counts_{table} AS "
                f"{sql_text('key_counts', table=table, key=key)}")
    (raw_rows, dup_keys), = ctx.execute(
        f"SELECT COALESCE(MAX(n) FILTER (WHERE is_total), 0), COUNT(*) FILTER (WHERE NOT is_total) "
        f"FROM key_counts_{table}")
    if dup_keys:  # the line of each first occurrence needs line numbers: one more (serial) scan
        _raw_view(ctx, table, numbered=True)
        ctx.execute(f"CREATE OR REPLACE TEMP TABLE dups_{table} AS "
                    f"{sql_text('first_rows', table=table, key=key)}")
    else:
        ctx.execute(f"CREATE OR REPLACE TEMP TABLE dups_{table} (dup_id BIGINT, first_row BIGINT)")
    return int(raw_rows), int(dup_keys)


def _write_bronze(ctx: TaskContext, table: str, stamp: str, raw_rows: int, dup_keys: int) -> dict[str, int]:
    """Write bronze (every row, typed, flagged), then stage the flagged rows' raw text for validate.

    Returns the rows per ``data_quality_flag``.
    """
    paths = ctx.paths
    _raw_view(ctx, table, numbered=dup_keys > 0)
    ctx.view(f"flagged_{table}", sql_text(f"bronze_{table}"))
    columns = ", ".join(f.name for f in BRONZE[table] if f.name not in
                        ("ingested_at", "data_quality_flag", "source_file"))
    n = ctx.copy_to_parquet(
        f"SELECT {columns}, {stamp} AS ingested_at, data_quality_flag, "
        f"{quote_path(paths.raw_csv(table))} AS source_file FROM flagged_{table}",
        paths.bronze_parquet(table))
    if n != raw_rows:
        raise DataError(f"bronze.{table} has {n} rows but raw has {raw_rows}")
    flags = {str(f): int(c) for f, c in ctx.execute(
        f"SELECT data_quality_flag, COUNT(*) FROM read_parquet({quote_path(paths.bronze_parquet(table))}) "
        f"GROUP BY 1")}
    staged = ", ".join(f"raw_{c} AS {c}" for c in RAW_COLUMNS[table])
    select = f"SELECT _row, {staged}, data_quality_flag AS reason FROM flagged_{table}"
    if n - flags.get(VALID, 0):  # same flags again, now with the line numbers and the raw text
        _raw_view(ctx, table, numbered=True)
        select += f" WHERE data_quality_flag <> '{VALID}'"
    else:
        select += " LIMIT 0"
    ctx.copy_to_parquet(select, staging_parquet(paths, table), {"raw_rows": str(raw_rows)})
    return flags


def ingest_to_bronze(
    paths: DataPaths,
    *,
    run_id: str,
    ingested_at: datetime | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Type every raw CSV row with TRY_CAST into data/bronze/<table>.parquet (schemas.BRONZE).

    Every raw row lands in bronze (in no particular order); ``data_quality_flag`` is "valid" or the
    first failed check's reason; of lines sharing a key, the first in the file is the one kept. The
    flagged rows' original text is staged for validate_data_quality. Customers and products are
    flagged first: an order is an orphan unless its customer and product are valid. ``ingested_at``
    defaults to now (UTC).

    Raises:
        DataError: a raw CSV is missing or has the wrong header, or DuckDB rejected the input.
        CancelledError: ``cancel`` was triggered.
    """
    stamp = timestamp_literal(ingested_at or utc_now())
    with task_context("ingest_to_bronze", paths, progress, cancel, total_steps=2 * len(TABLES)) as ctx:
        require_files([paths.raw_csv(t) for t in TABLES], "run generate_sample_data first")
        for table in TABLES:
            _check_header(ctx, table)
        paths.ensure()
        valid: dict[str, int] = {}
        for table in ("customers", "products", "orders"):
            raw_rows, dup_keys = _find_duplicates(ctx, table)
            ctx.rows[f"raw.{table}"] = raw_rows
            ctx.step(f"read raw.{table}: {raw_rows:,} rows, {dup_keys:,} duplicated keys")
            if table == "orders":
                for parent, key in (("customers", "customer_id"), ("products", "product_id")):
                    parent_file = quote_path(paths.bronze_parquet(parent))
                    ctx.execute(f"CREATE OR REPLACE TEMP TABLE valid_{key}s AS SELECT {key} "
                                f"FROM read_parquet({parent_file}) WHERE data_quality_flag = '{VALID}'")
            flags = _write_bronze(ctx, table, stamp, raw_rows, dup_keys)
            n = ctx.rows[f"bronze.{table}"] = sum(flags.values())
            valid[table] = flags.get(VALID, 0)
            ctx.step(f"bronze.{table}: {n:,} rows, {n - valid[table]:,} flagged")
        detail = ", ".join(f"{t} {ctx.rows[f'bronze.{t}']:,}" for t in TABLES)
        return ctx.result(f"bronze: {detail}", {"run_id": run_id, "valid_rows": valid})


def _table_quality(ctx: TaskContext, table: str, stamp: str) -> dict[str, Any]:
    paths = ctx.paths
    staged = staging_parquet(paths, table)
    ctx.parquet_view(f"flagged_{table}", staged)
    raw_rows = int((pq.read_metadata(staged).metadata or {}).get(b"raw_rows", b"-1"))
    reasons = {str(r): int(n) for r, n in ctx.execute(
        f"SELECT data_quality_flag, COUNT(*) FROM read_parquet({quote_path(paths.bronze_parquet(table))}) "
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
        require_files([paths.bronze_parquet(t) for t in TABLES] + [staging_parquet(paths, t) for t in TABLES],
                      "run ingest_to_bronze first")
        tables: dict[str, Any] = {}
        for table in TABLES:
            tables[table] = _table_quality(ctx, table, timestamp_literal(now))
            ctx.rows[f"quarantine.{table}"] = tables[table]["quarantined_rows"]
            ctx.step(f"{table}: {tables[table]['quarantined_rows']:,} quarantined")
        report = {
            "run_id": run_id, "generated_at": now.isoformat(timespec="seconds") + "Z",
            "passed": all(t["passed"] for t in tables.values()), "tables": tables,
        }
        paths.quality_report.parent.mkdir(parents=True, exist_ok=True)
        paths.quality_report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        ctx.step("quality report written")
        failures = sum(t["quarantined_rows"] for t in tables.values())
        return ctx.result(f"{failures:,} rows quarantined",
                          {"report": report, "quality_failures": failures})
