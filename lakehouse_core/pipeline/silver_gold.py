"""Phase-1 tasks 4 to 6: bronze -> silver.orders_enriched -> gold tables -> KPI report."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lakehouse_core.models import TaskResult
from lakehouse_core.paths import GOLD_TABLES, TABLES, DataPaths
from lakehouse_core.pipeline import gold_delta
from lakehouse_core.pipeline._duck import require_files, sql_text, task_context, utc_now
from lakehouse_core.pipeline.incremental import base_paths, delta_paths, read_plan
from lakehouse_core.pipeline.merge import gold_increment, replaced_parquet, silver_increment
from lakehouse_core.pipeline.parts import keep_only, part_path
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink

CENT = Decimal("0.01")


def transform_to_silver(
    paths: DataPaths,
    *,
    run_id: str = "",
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Write data/silver/orders_enriched.parquet (schemas.SILVER_ORDERS_ENRICHED).

    Valid orders joined to valid customers and products; cancelled orders dropped; revenue =
    total_amount, unit_price = product price, order_year/month/day/dow (ISO, Monday = 1)/quarter.

    Raises:
        DataError: bronze is missing.
    """
    with task_context("transform_to_silver", paths, progress, cancel, total_steps=1) as ctx:
        increment = read_plan(paths)
        if increment.mode == "unchanged":
            return ctx.result(f"nothing new: {increment.reason}", {"run_id": run_id})
        require_files([paths.bronze_parquet(t) for t in TABLES], "run ingest_to_bronze first")
        if increment.mode == "incremental":
            ctx.paths = delta_paths(paths)
            removed, added = silver_increment(ctx, base_paths(paths, increment), paths, run_id)
            n = ctx.rows["silver.orders_enriched"] = ctx.count(paths.silver_orders)
            detail = f"silver.orders_enriched: {n:,} rows ({removed:,} recomputed rows out, {added:,} in)"
            ctx.step(detail)
            return ctx.result(detail, {"run_id": run_id})
        for table in TABLES:
            ctx.parquet_view(f"bronze_{table}", paths.bronze_parquet(table))
        part = part_path(paths.silver_orders, run_id)
        n = ctx.copy_to_parquet(sql_text("silver_orders_enriched"), part)
        keep_only(part)
        ctx.rows["silver.orders_enriched"] = n
        ctx.step(f"silver.orders_enriched: {n:,} rows")
        return ctx.result(f"silver.orders_enriched: {n:,} rows", {"run_id": run_id})


def aggregate_to_gold(
    paths: DataPaths,
    *,
    run_id: str = "",
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Write data/gold/{daily_sales,customer_metrics,product_performance,regional_sales}.parquet.

    Schemas are schemas.GOLD; every amount is an exact decimal sum of silver revenue and
    avg_order_value is rounded half-up to cents.

    Raises:
        DataError: silver is missing.
    """
    with task_context("aggregate_to_gold", paths, progress, cancel, total_steps=len(GOLD_TABLES)) as ctx:
        increment = read_plan(paths)
        if increment.mode == "unchanged":
            return ctx.result(f"nothing new: {increment.reason}", {"run_id": run_id})
        require_files([paths.silver_orders], "run transform_to_silver first")
        ctx.parquet_view("silver_orders_enriched", paths.silver_orders)
        groups: dict[str, int] = {}
        if increment.mode == "incremental":
            delta = ctx.paths = delta_paths(paths)
            gold_delta.prepare(ctx, paths, replaced_parquet(delta, "orders_enriched"),
                               part_path(delta.silver_orders, run_id))
        for table in GOLD_TABLES:
            if increment.mode == "incremental":
                groups[table] = gold_increment(ctx, table, base_paths(paths, increment), paths)
                n = ctx.rows[f"gold.{table}"] = ctx.count(paths.gold_parquet(table))
            else:
                n = ctx.copy_to_parquet(sql_text(f"gold_{table}"), paths.gold_parquet(table))
                ctx.rows[f"gold.{table}"] = n
            ctx.step(f"gold.{table}: {n:,} rows")
        detail = ", ".join(f"{t} {ctx.rows[f'gold.{t}']:,}" for t in GOLD_TABLES)
        if groups:
            detail += " (recomputed groups: " + ", ".join(f"{t} {n:,}" for t, n in groups.items()) + ")"
        return ctx.result(f"gold: {detail}", {"run_id": run_id})


def generate_report(
    paths: DataPaths,
    *,
    run_id: str = "",
    generated_at: datetime | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Write data/gold/kpi_report.json and return it in ``outputs["kpis"]``.

    Keys: total_revenue and avg_order_value as strings with exactly 2 decimals (exact decimal text,
    avg rounded half-up; "0.00" when there are no orders), total_orders (silver rows) and
    total_customers (distinct silver customers) as integers, plus run_id and generated_at (ISO UTC).

    The sums come from gold.customer_metrics (one row per silver customer), which the audits check
    against silver.

    Raises:
        DataError: gold.customer_metrics is missing.
    """
    now = generated_at or utc_now()
    with task_context("generate_report", paths, progress, cancel, total_steps=1) as ctx:
        increment = read_plan(paths)
        if increment.mode == "unchanged":
            return ctx.result(f"nothing new: {increment.reason}", {"run_id": run_id})
        require_files([paths.gold_parquet("customer_metrics")], "run aggregate_to_gold first")
        ctx.parquet_view("gold_customer_metrics", paths.gold_parquet("customer_metrics"))
        total, orders, customers = ctx.execute(sql_text("kpi_report"))[0]
        revenue = Decimal(total).quantize(CENT)
        avg = (revenue / orders).quantize(CENT, rounding=ROUND_HALF_UP) if orders else Decimal("0.00")
        kpis: dict[str, Any] = {
            "total_revenue": str(revenue), "total_orders": int(orders), "avg_order_value": str(avg),
            "total_customers": int(customers), "run_id": run_id,
            "generated_at": now.isoformat(timespec="seconds") + "Z",
        }
        paths.kpi_report.parent.mkdir(parents=True, exist_ok=True)
        paths.kpi_report.write_text(json.dumps(kpis, indent=2) + "\n", encoding="utf-8")
        ctx.step("kpi_report.json written")
        return ctx.result(f"revenue {revenue} over {orders:,} orders", {"kpis": kpis, "run_id": run_id})
