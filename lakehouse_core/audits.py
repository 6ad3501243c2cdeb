"""Audits of a run's isolated outputs, run before anything is published.

Phase 1 (the run directory's Parquet and reports): raw = bronze = valid + quarantined per table;
keys not null and unique (bronze valid rows, silver, gold; for the parted tables of an incremental
run, the rows of its new part, checked against the live rows of the base run's parts); silver revenue
= gold revenue; every report from this run. Phase 2 (the staged Iceberg tables): partition specs as
``iceberg/tables.py`` defines them; rows equal the phase-1 Parquet; every table's snapshot from this
run and from the same phase-1 run. Each audit is an ``AuditCheck`` (name, ok, detail, numbers); a
run is published only when all pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from lakehouse_core.errors import DataError
from lakehouse_core.models import AuditCheck
from lakehouse_core.paths import GOLD_TABLES, TABLES, DataPaths
from lakehouse_core.pipeline.incremental import read_plan
from lakehouse_core.pipeline.keys import key_stats
from lakehouse_core.pipeline.parts import part_path, parts, table_rows, table_sql

logger = logging.getLogger(__name__)

VALID_FLAG = "valid"
BRONZE_KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id"}
GOLD_KEYS = {
    "daily_sales": "date",
    "customer_metrics": "customer_id",
    "product_performance": "product_id",
    "regional_sales": "state",
}
GOLD_REVENUE = {
    "daily_sales": "total_revenue",
    "product_performance": "total_revenue",
    "regional_sales": "total_revenue",
    "customer_metrics": "lifetime_value",
}


class AuditFailed(DataError):
    """A run's audits did not all pass; the run stays unpublished and inspectable."""

    def __init__(self, checks: Sequence[AuditCheck]) -> None:
        failed = [c for c in checks if not c.ok]
        super().__init__(
            "audit failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed), title="Audit failed"
        )
        self.checks = tuple(checks)


def require_passed(checks: Sequence[AuditCheck]) -> None:
    """Raise AuditFailed unless every check passed."""
    if not all(c.ok for c in checks):
        raise AuditFailed(checks)


def _rows(path: Path) -> int:
    return int(pq.read_metadata(path).num_rows)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable report {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _counts(paths: DataPaths) -> AuditCheck:
    report = _read_json(paths.quality_report).get("tables", {})
    numbers: dict[str, Any] = {}
    bad = []
    for table in TABLES:
        entry = report.get(table, {})
        raw = int(entry.get("raw_rows", -1))
        bronze = table_rows(paths.bronze_parquet(table))
        quarantined = _rows(paths.quarantine_parquet(table))
        valid = int(entry.get("valid_rows", -1))
        replaced = int(entry.get("replaced_rows", 0))  # rows incremental runs replaced by key
        numbers[table] = {"raw": raw, "bronze": bronze, "valid": valid, "quarantined": quarantined,
                          "replaced": replaced}
        if not raw - replaced == bronze == valid + quarantined:
            bad.append(f"{table} raw {raw}, bronze {bronze}, valid {valid} + quarantined {quarantined}")
    detail = "; ".join(bad) or ", ".join(f"{t} {numbers[t]['raw']:,}" for t in TABLES)
    return AuditCheck("raw = bronze = valid + quarantined", not bad, detail, numbers)


def _query(con: duckdb.DuckDBPyConnection) -> Callable[[str], list[tuple[Any, ...]]]:
    return lambda sql: con.execute(sql).fetchall()


def _key_stats(con: duckdb.DuckDBPyConnection, path: Path, key: str, where: str = "") -> tuple[int, int, int]:
    return key_stats(_query(con), f"{table_sql(path)} {where}", key)


def _increment_key_stats(
    con: duckdb.DuckDBPyConnection, path: Path, key: str, where: str, new_part: Path
) -> tuple[int, int, int]:
    """Rows, nulls and duplicates of ``key`` counting only what an incremental run added: its part's
    rows, their keys repeated among themselves or among the live rows of the other parts (which the
    base run's audits found unique; deletes only remove rows from them)."""
    quoted = "'" + str(new_part).replace("'", "''") + "'"
    new = f"(SELECT * FROM read_parquet({quoted}) {where})"
    rows, not_null, distinct = key_stats(_query(con), new, key)
    both = "AND" if where else "WHERE"
    clash = con.execute(
        f'SELECT COUNT(*) FROM {table_sql(path, positions=True)} {where} {both} _part <> ? '
        f'AND "{key}" IN (SELECT "{key}" FROM {new})', [new_part.name]).fetchone()
    assert clash is not None
    return rows, not_null, distinct - int(clash[0])


def _keys(con: duckdb.DuckDBPyConnection, paths: DataPaths, run_id: str = "") -> AuditCheck:
    targets: list[tuple[str, Path, str, str]] = [
        (f"bronze.{t}", paths.bronze_parquet(t), k, f"WHERE data_quality_flag = '{VALID_FLAG}'")
        for t, k in BRONZE_KEYS.items()
    ]
    targets.append(("silver.orders_enriched", paths.silver_orders, "order_id", ""))
    targets += [(f"gold.{t}", paths.gold_parquet(t), GOLD_KEYS[t], "") for t in GOLD_TABLES]
    numbers: dict[str, Any] = {}
    bad = []
    incremental = read_plan(paths).mode == "incremental"
    for name, path, key, where in targets:
        new_part = part_path(path, run_id)
        if incremental and new_part.is_file() and len(parts(path)) > 1:
            rows, not_null, distinct = _increment_key_stats(con, path, key, where, new_part)
        else:
            rows, not_null, distinct = _key_stats(con, path, key, where)
        numbers[name] = {"rows": rows, "null_keys": rows - not_null, "duplicate_keys": not_null - distinct}
        if rows != not_null or not_null != distinct:
            bad.append(f"{name}.{key}: {rows - not_null} null, {not_null - distinct} duplicated")
    detail = "; ".join(bad) or f"{len(targets)} tables"
    return AuditCheck("keys not null and unique", not bad, detail, numbers)


def _revenue(con: duckdb.DuckDBPyConnection, paths: DataPaths) -> AuditCheck:
    def total(path: Path, column: str) -> Decimal:
        row = con.execute(f'SELECT COALESCE(SUM("{column}"), 0) FROM {table_sql(path)}').fetchone()
        assert row is not None
        return Decimal(row[0])

    silver = total(paths.silver_orders, "revenue")
    gold = {t: total(paths.gold_parquet(t), c) for t, c in GOLD_REVENUE.items()}
    kpi = Decimal(str(_read_json(paths.kpi_report).get("total_revenue", "NaN")))
    bad = [f"gold.{t} {v}" for t, v in gold.items() if v != silver]
    if kpi != silver:
        bad.append(f"kpi_report {kpi}")
    numbers = {"silver": str(silver), **{f"gold.{t}": str(v) for t, v in gold.items()}, "kpi": str(kpi)}
    detail = f"silver {silver}" + (f" differs from {', '.join(bad)}" if bad else " everywhere")
    return AuditCheck("silver revenue = gold revenue", not bad, detail, numbers)


def _same_run(paths: DataPaths, run_id: str) -> AuditCheck:
    ids = {
        "quality_report": _read_json(paths.quality_report).get("run_id"),
        "kpi_report": _read_json(paths.kpi_report).get("run_id"),
    }
    bad = [f"{name} has {value!r}" for name, value in ids.items() if value != run_id]
    outside = [
        str(p)
        for p in [
            *(paths.bronze_parquet(t) for t in TABLES),
            paths.silver_orders,
            *(paths.gold_parquet(t) for t in GOLD_TABLES),
        ]
        if not p.resolve().is_relative_to(paths.outputs.resolve())
    ]
    bad += [f"{p} is outside the run directory" for p in outside]
    return AuditCheck("every output from this run", not bad, "; ".join(bad) or run_id, {"run_id": run_id})


def audit_phase1(paths: DataPaths, run_id: str) -> list[AuditCheck]:
    """Every phase-1 audit on the layers of ``paths`` (a run directory)."""
    checks = [_counts(paths)]
    con = duckdb.connect()
    try:
        checks += [_keys(con, paths, run_id), _revenue(con, paths)]
    finally:
        con.close()
    checks.append(_same_run(paths, run_id))
    return checks


def audit_phase2(
    staged: Mapping[str, Mapping[str, Any]],
    expected_rows: Mapping[str, int],
    *,
    run_id: str,
    source_run: str,
) -> list[AuditCheck]:
    """Phase-2 audits over ``staged``: per table ``rows``, ``spec`` (as ``(source_id, transform,
    name)`` triples), ``run_id`` and ``source_run`` read from the staged snapshot."""
    from lakehouse_core.iceberg.tables import TABLES as ICEBERG_TABLES

    missing = [t.identifier for t in ICEBERG_TABLES if t.identifier not in staged]
    checks = [AuditCheck("every table staged", not missing, ", ".join(missing) or f"{len(staged)} tables")]
    bad_spec = []
    for definition in ICEBERG_TABLES:
        entry = staged.get(definition.identifier)
        want = [[f.source_id, str(f.transform), f.name] for f in definition.partition_spec.fields]
        if entry is not None and [list(s) for s in entry["spec"]] != want:
            bad_spec.append(f"{definition.identifier}: {entry['spec']} instead of {want}")
    checks.append(AuditCheck("partition specs as defined", not bad_spec, "; ".join(bad_spec) or "all match"))
    rows = {t: int(e["rows"]) for t, e in staged.items()}
    bad_rows = [
        f"{t}: {n} rows, Parquet {expected_rows.get(t)}" for t, n in rows.items() if n != expected_rows.get(t)
    ]
    checks.append(
        AuditCheck("rows = phase-1 Parquet", not bad_rows, "; ".join(bad_rows) or "all equal", {"rows": rows})
    )
    bad_ids = [
        f"{t}: run {e.get('run_id')}, source {e.get('source_run')}"
        for t, e in staged.items()
        if e.get("run_id") != run_id or e.get("source_run") != source_run
    ]
    checks.append(
        AuditCheck(
            "every table from the same run",
            not bad_ids,
            "; ".join(bad_ids) or f"run {run_id} from phase-1 run {source_run}",
        )
    )
    return checks
