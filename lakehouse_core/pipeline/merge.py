"""The merges of an incremental phase-1 run (``pipeline/incremental.py``): bronze upserted by key, the
quarantine extended, silver recomputed for the touched orders, gold for the touched groups.

Every function reads the base run's Parquet and the run's ``delta/`` and writes the run's layers.
Bronze and silver are parted tables (``pipeline/parts.py``): the run's layer holds the base run's parts
(hard links), its own new part, and the base's deletes plus the positions of the rows it replaced, so
the work is proportional to the new rows (the base's key columns are scanned, never rewritten).
"""

from __future__ import annotations

from typing import Any

from lakehouse_core.paths import DataPaths
from lakehouse_core.pipeline import gold_delta
from lakehouse_core.pipeline._duck import TaskContext, quote_path, sql_text
from lakehouse_core.pipeline.incremental import GOLD_GROUPS, KEYS
from lakehouse_core.pipeline.parts import deletes_path, exists, link_or_copy, link_table, part_path, table_sql

VALID = "valid"
REPLACED = "replaced"
"""Under ``delta/``: ``replaced/<table>.parquet``, the base run's rows an upsert replaced (phase 2 deletes
them from Iceberg), and ``replaced/orders_enriched.parquet``, the silver rows recomputed."""


def replaced_parquet(delta: DataPaths, table: str) -> Any:
    """Rows of the base run that an incremental run removed from ``table`` (bronze or silver)."""
    return delta.outputs / REPLACED / f"{table}.parquet"


def _p(path: Any) -> str:
    return f"read_parquet({quote_path(path)})"


def bronze_flags(ctx: TaskContext, path: Any) -> dict[str, int]:
    """Rows per ``data_quality_flag`` of a bronze table (live rows)."""
    rows = ctx.execute(f"SELECT data_quality_flag, COUNT(*) FROM {table_sql(path)} GROUP BY 1")
    return {str(f): int(n) for f, n in rows}


def _extend(ctx: TaskContext, source: Any, target: Any, new_part: Any, replaced: str) -> None:
    """``target`` = ``source``'s parts (linked) + ``new_part``; deletes = ``source``'s + the ``_part``,
    ``_pos`` of temp table ``replaced``."""
    link_table(source, target, deletes=False)
    link_or_copy(new_part, target / new_part.name)
    deletes = f"SELECT _part AS part, _pos AS pos FROM {replaced}"
    if deletes_path(source).is_file():
        deletes = f"SELECT part, pos FROM {_p(deletes_path(source))} UNION ALL {deletes}"
    (n,), = ctx.execute(f"SELECT COUNT(*) FROM ({deletes})")
    if n:
        ctx.copy_to_parquet(deletes, deletes_path(target))


def merge_bronze(ctx: TaskContext, table: str, base: DataPaths, paths: DataPaths, run_id: str) -> int:
    """bronze = base rows minus the valid rows whose key a new valid row has, plus every new row.

    The new rows are the run's part (typed into ``ctx.paths``, the delta); the replaced rows become
    deletes, and are written to ``delta/replaced/<table>.parquet`` for phase 2. Returns their number.
    """
    key = KEYS[table]
    new_part = part_path(ctx.paths.bronze_parquet(table), run_id)
    new_keys = f"SELECT {key} FROM {_p(new_part)} WHERE data_quality_flag = '{VALID}'"
    source = base.bronze_parquet(table)
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE replaced_{table} AS SELECT * "
                f"FROM {table_sql(source, positions=True)} "
                f"WHERE data_quality_flag = '{VALID}' AND {key} IN ({new_keys})")
    replaced = ctx.copy_to_parquet(f"SELECT * EXCLUDE (_part, _pos) FROM replaced_{table}",
                                   replaced_parquet(ctx.paths, table))
    _extend(ctx, source, paths.bronze_parquet(table), new_part, f"replaced_{table}")
    return int(replaced)


def merge_quarantine(ctx: TaskContext, table: str, base: DataPaths, paths: DataPaths) -> None:
    """quarantine = the base run's quarantined rows plus this run's."""
    ctx.copy_to_parquet(
        f"SELECT * FROM {_p(base.quarantine_parquet(table))} "
        f"UNION ALL SELECT * FROM {_p(ctx.paths.quarantine_parquet(table))}",
        paths.quarantine_parquet(table))


def merge_report(base: dict[str, Any], delta: dict[str, Any], replaced: int) -> dict[str, Any]:
    """A table's cumulative quality entry: the base run's plus this run's (``increment``: this run's)."""
    out: dict[str, Any] = {k: int(base.get(k, 0)) + int(delta.get(k, 0))
           for k in ("raw_rows", "valid_rows", "quarantined_rows")}
    out["valid_rows"] -= replaced
    out["replaced_rows"] = int(base.get("replaced_rows", 0)) + replaced
    out["bronze_rows"] = out["raw_rows"] - out["replaced_rows"]
    for part in ("checks", "reasons"):
        merged = dict(base.get(part, {}))
        for name, n in delta.get(part, {}).items():
            merged[name] = merged.get(name, 0) + n
        out[part] = dict(sorted(merged.items()))
    out["passed"] = out["quarantined_rows"] == 0
    out["increment"] = {**delta, "replaced_rows": replaced}
    return out


def _touched_orders(ctx: TaskContext, delta: DataPaths) -> str:
    """Condition on silver/bronze order rows an incremental run recomputes: new or replaced orders and
    the orders of new or changed customers and products. The touched keys go to temp tables (each delta
    file is read once)."""
    parts = []
    for table, key in KEYS.items():
        if exists(delta.bronze_parquet(table)):
            ctx.execute(f"CREATE OR REPLACE TEMP TABLE touched_{key}s AS SELECT DISTINCT {key} "
                        f"FROM {table_sql(delta.bronze_parquet(table))} WHERE data_quality_flag = '{VALID}' "
                        f"AND {key} IS NOT NULL")
            parts.append(f"{key} IN (SELECT {key} FROM touched_{key}s)")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def silver_increment(ctx: TaskContext, base: DataPaths, paths: DataPaths, run_id: str) -> tuple[int, int]:
    """silver = base silver minus the touched orders, plus silver of the touched orders from bronze.

    Writes the rows removed (``delta/replaced/orders_enriched.parquet``, and as deletes) and added (the
    run's part of silver, also under ``delta/silver``); returns (rows removed, rows added).
    """
    delta = ctx.paths
    touched = _touched_orders(ctx, delta)
    ctx.view("bronze_orders", f"SELECT * FROM {table_sql(paths.bronze_parquet('orders'))} WHERE {touched}")
    for table in ("customers", "products"):
        ctx.parquet_view(f"bronze_{table}", paths.bronze_parquet(table))
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE silver_added AS {sql_text('silver_orders_enriched')}")
    ctx.execute(f"CREATE OR REPLACE TEMP TABLE silver_removed AS "
                f"SELECT * FROM {table_sql(base.silver_orders, positions=True)} WHERE {touched}")
    removed = ctx.copy_to_parquet("SELECT * EXCLUDE (_part, _pos) FROM silver_removed",
                                  replaced_parquet(delta, "orders_enriched"))
    new_part = part_path(delta.silver_orders, run_id)
    added = ctx.copy_to_parquet("SELECT * FROM silver_added", new_part)
    _extend(ctx, base.silver_orders, paths.silver_orders, new_part, "silver_removed")
    return removed, added


def gold_increment(ctx: TaskContext, table: str, base: DataPaths, paths: DataPaths) -> int:
    """gold = base rows of untouched groups plus the touched groups recomputed from the run's silver
    change (``pipeline/gold_delta.py``; ``gold_delta.prepare`` ran first). The recomputed rows go to
    ``delta/gold/`` and the base rows they replace to ``delta/replaced/gold_<table>.parquet`` (phase 2
    upserts them).

    Returns the groups recomputed.
    """
    key, _ = GOLD_GROUPS[table]
    delta = ctx.paths
    old = _p(base.gold_parquet(table))
    groups = f"({gold_delta.touched_groups(table)}) t ON b.{key} IS NOT DISTINCT FROM t.g"
    ctx.copy_to_parquet(gold_delta.recomputed_rows(ctx, table, key, old), delta.gold_parquet(table))
    ctx.copy_to_parquet(f"SELECT b.* FROM {old} b SEMI JOIN {groups}",
                        replaced_parquet(delta, f"gold_{table}"))
    ctx.copy_to_parquet(
        f"SELECT * FROM (SELECT b.* FROM {old} b ANTI JOIN {groups} "
        f"UNION ALL SELECT * FROM {_p(delta.gold_parquet(table))}) ORDER BY {key}",
        paths.gold_parquet(table))
    (n,), = ctx.execute(f"SELECT COUNT(*) FROM ({gold_delta.touched_groups(table)})")
    return int(n)
