"""Phase-1 tasks 2 and 3: raw CSV -> bronze Parquet (typed, flagged), then quarantine + quality report."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

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


def _stage_raw(ctx: TaskContext, table: str) -> int:
    """Copy the raw CSV, every column as text, in file order, to the staging Parquet."""
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in RAW_COLUMNS[table])
    select = (
        f"SELECT * FROM read_csv({quote_path(ctx.paths.raw_csv(table))}, header = true, "
        f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', null_padding = true, "
        f"columns = {{{columns}}})"
    )
    return ctx.copy_to_parquet(select, staging_parquet(ctx.paths, table))


def ingest_to_bronze(
    paths: DataPaths,
    *,
    run_id: str,
    ingested_at: datetime | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Type every raw CSV row with TRY_CAST into data/bronze/<table>.parquet (schemas.BRONZE).

    Every raw row lands in bronze; ``data_quality_flag`` is "valid" or the first failed check's reason.
    Customers and products are flagged first: an order is an orphan unless its customer and product
    are valid. ``ingested_at`` defaults to now (UTC).

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
            ctx.rows[f"raw.{table}"] = _stage_raw(ctx, table)
            ctx.step(f"staged raw.{table}: {ctx.rows[f'raw.{table}']:,} rows")
            ctx.parquet_view(f"raw_{table}", staging_parquet(paths, table), row_numbers=True)
            if table == "orders":
                for parent, key in (("customers", "customer_id"), ("products", "product_id")):
                    parent_file = quote_path(paths.bronze_parquet(parent))
                    ctx.view(f"valid_{key}s", f"SELECT {key} FROM read_parquet({parent_file}) "
                             f"WHERE data_quality_flag = '{VALID}'")
            columns = ", ".join(f.name for f in BRONZE[table] if f.name not in
                                ("ingested_at", "data_quality_flag", "source_file"))
            select = (
                f"SELECT {columns}, {stamp} AS ingested_at, data_quality_flag, "
                f"{quote_path(paths.raw_csv(table))} AS source_file "
                f"FROM ({sql_text(f'bronze_{table}')}) flagged ORDER BY _row"
            )
            n = ctx.copy_to_parquet(select, paths.bronze_parquet(table))
            ctx.rows[f"bronze.{table}"] = n
            valid[table] = int(ctx.execute(
                f"SELECT COUNT(*) FROM read_parquet({quote_path(paths.bronze_parquet(table))}) "
                f"WHERE data_quality_flag = '{VALID}'")[0][0])
            if n != ctx.rows[f"raw.{table}"]:
                raise DataError(f"bronze.{table} has {n} rows but raw has {ctx.rows[f'raw.{table}']}")
            ctx.step(f"bronze.{table}: {n:,} rows, {n - valid[table]:,} flagged")
        detail = ", ".join(f"{t} {ctx.rows[f'bronze.{t}']:,}" for t in TABLES)
        return ctx.result(f"bronze: {detail}", {"run_id": run_id, "valid_rows": valid})


def _table_quality(ctx: TaskContext, table: str, stamp: str) -> dict[str, Any]:
    paths = ctx.paths
    ctx.parquet_view(f"raw_{table}", staging_parquet(paths, table), row_numbers=True)
    ctx.parquet_view(f"bronze_{table}_rows", paths.bronze_parquet(table), row_numbers=True)
    raw_rows = int(ctx.execute(f"SELECT COUNT(*) FROM raw_{table}")[0][0])
    reasons = {str(r): int(n) for r, n in ctx.execute(
        f"SELECT data_quality_flag, COUNT(*) FROM bronze_{table}_rows GROUP BY 1 ORDER BY 1")}
    bronze_rows = sum(reasons.values())
    valid_rows = reasons.pop(VALID, 0)
    quarantined = sum(reasons.values())
    select = sql_text(
        "quarantine", table=table, quarantined_at=stamp,
        raw_columns=", ".join(f"r.{c}" for c in RAW_COLUMNS[table]))
    written = ctx.copy_to_parquet(select, paths.quarantine_parquet(table))
    if not raw_rows == bronze_rows == valid_rows + quarantined or written != quarantined:
        raise DataError(
            f"{table}: counts do not reconcile: raw {raw_rows}, bronze {bronze_rows}, valid {valid_rows}, "
            f"quarantined {quarantined} (written {written})")
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
        DataError: bronze is missing, or raw = bronze = valid + quarantined does not hold.
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
