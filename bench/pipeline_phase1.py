"""Platform-faithful pandas baseline of phase 1 (bronze, validate, silver, gold, KPIs) for the benchmark.

This is how the platform's Airflow DAG does it: ``read_csv`` everything into memory, flag with vectorized
pandas, ``merge`` and ``groupby``, ``to_parquet``. Same checks (first failed check wins) and the same
outputs layout as lakehouse_core.pipeline, but floats for money. Used only by bench/ to compare
speed and peak RSS with the DuckDB pipeline; never by the product.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from lakehouse_core.paths import DataPaths
from lakehouse_core.schemas import CATEGORIES, PAYMENT_METHODS, RAW_COLUMNS, SEGMENTS, STATUSES

logger = logging.getLogger(__name__)


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.str.strip() == "")


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.str.strip(), errors="coerce")


def _date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.str.strip(), format="%Y-%m-%d", errors="coerce")


def _dup(key: pd.Series) -> pd.Series:
    return key.notna() & key.duplicated(keep="first")


def _flag(checks: list[tuple[pd.Series, Any]], index: pd.Index) -> pd.Series:
    conds = [c.fillna(False).to_numpy(dtype=bool) for c, _ in checks]
    choices = [np.asarray(r if isinstance(r, pd.Series) else np.full(len(index), r), dtype=object)
               for _, r in checks]
    return pd.Series(np.select(conds, choices, default="valid"), index=index)


def _customers(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame({"customer_id": _num(raw.customer_id),
                       "registration_date": _date(raw.registration_date)})
    for c in ("email", "first_name", "last_name", "city", "state", "customer_segment"):
        df[c] = raw[c]
    df["data_quality_flag"] = _flag([
        (_blank(raw.customer_id), "null_key:customer_id"),
        (df.customer_id.isna(), "invalid_number:customer_id"),
        (raw.email.isna(), "null_value:email"),
        (_blank(raw.registration_date), "null_value:registration_date"),
        (raw.customer_segment.isna(), "null_value:customer_segment"),
        (df.registration_date.isna(), "unparseable_date:registration_date"),
        (_dup(df.customer_id), "duplicate_customer_id"),
        (~raw.email.fillna("").str.contains(r".@.", regex=True), "invalid_email"),
        (~raw.customer_segment.isin(SEGMENTS), "invalid_segment:" + raw.customer_segment.fillna("")),
    ], df.index)
    return df


def _products(raw: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame({"product_id": _num(raw.product_id), "product_name": raw.product_name,
                       "category": raw.category, "price": _num(raw.price),
                       "stock_quantity": _num(raw.stock_quantity)})
    df["data_quality_flag"] = _flag([
        (_blank(raw.product_id), "null_key:product_id"),
        (df.product_id.isna(), "invalid_number:product_id"),
        (raw.product_name.isna(), "null_value:product_name"),
        (raw.category.isna(), "null_value:category"),
        (_blank(raw.price), "null_value:price"),
        (df.price.isna(), "invalid_number:price"),
        (~_blank(raw.stock_quantity) & df.stock_quantity.isna(), "invalid_number:stock_quantity"),
        (_dup(df.product_id), "duplicate_product_id"),
        (df.price <= 0, "nonpositive_price"),
        (df.stock_quantity < 0, "negative_stock"),
        (~raw.category.isin(CATEGORIES), "invalid_category:" + raw.category.fillna("")),
    ], df.index)
    return df


def _orders(raw: pd.DataFrame, customers: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame({
        "order_id": _num(raw.order_id), "customer_id": _num(raw.customer_id),
        "product_id": _num(raw.product_id), "order_date": _date(raw.order_date),
        "quantity": _num(raw.quantity), "total_amount": _num(raw.total_amount),
        "status": raw.status, "payment_method": raw.payment_method,
    })
    valid_c = customers.loc[customers.data_quality_flag == "valid", "customer_id"]
    valid_p = products.loc[products.data_quality_flag == "valid", "product_id"]
    df["data_quality_flag"] = _flag([
        (_blank(raw.order_id), "null_key:order_id"),
        (_blank(raw.customer_id), "null_key:customer_id"),
        (_blank(raw.product_id), "null_key:product_id"),
        (df.order_id.isna(), "invalid_number:order_id"),
        (df.customer_id.isna(), "invalid_number:customer_id"),
        (df.product_id.isna(), "invalid_number:product_id"),
        (_blank(raw.order_date), "null_value:order_date"),
        (_blank(raw.quantity), "null_value:quantity"),
        (_blank(raw.total_amount), "null_value:total_amount"),
        (raw.status.isna(), "null_value:status"),
        (raw.payment_method.isna(), "null_value:payment_method"),
        (df.order_date.isna(), "unparseable_date:order_date"),
        (df.quantity.isna(), "invalid_number:quantity"),
        (df.total_amount.isna(), "invalid_number:total_amount"),
        (_dup(df.order_id), "duplicate_order_id"),
        (df.quantity <= 0, "nonpositive_quantity"),
        (df.total_amount < 0, "negative_amount"),
        (~raw.status.isin(STATUSES), "invalid_status:" + raw.status.fillna("")),
        (~raw.payment_method.isin(PAYMENT_METHODS),
         "invalid_payment_method:" + raw.payment_method.fillna("")),
        (~df.customer_id.isin(valid_c), "orphan_customer_id"),
        (~df.product_id.isin(valid_p), "orphan_product_id"),
    ], df.index)
    return df


def run_pandas_phase1(paths: DataPaths) -> dict[str, Any]:
    """Run bronze, validation, silver, gold and the KPI report with pandas over ``paths.raw``.

    Returns row counts per layer plus the KPIs (floats), for the benchmark to compare.
    """
    paths.ensure()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    raw = {t: pd.read_csv(paths.raw_csv(t), dtype=str, keep_default_na=False, na_values=[""])
           for t in RAW_COLUMNS}
    bronze = {"customers": _customers(raw["customers"]), "products": _products(raw["products"])}
    bronze["orders"] = _orders(raw["orders"], bronze["customers"], bronze["products"])
    out: dict[str, Any] = {}
    for table, df in bronze.items():
        df["ingested_at"] = now
        df["source_file"] = str(paths.raw_csv(table))
        df.to_parquet(paths.bronze_parquet(table), index=False)
        bad = df.data_quality_flag != "valid"
        q = raw[table].loc[bad].assign(reason=df.data_quality_flag[bad], quarantined_at=now)
        q.to_parquet(paths.quarantine_parquet(table), index=False)
        out[f"bronze.{table}"], out[f"quarantine.{table}"] = len(df), int(bad.sum())
    paths.quality_report.write_text(json.dumps(out, indent=2))

    c, p, o = (bronze[t][bronze[t].data_quality_flag == "valid"] for t in ("customers", "products", "orders"))
    o = o[o.status != "cancelled"].drop(columns=["data_quality_flag", "ingested_at", "source_file"])
    silver = (o.merge(c[["customer_id", "customer_segment", "city", "state"]], on="customer_id")
               .merge(p[["product_id", "product_name", "category", "price"]], on="product_id")
               .rename(columns={"price": "unit_price"}))
    silver["revenue"] = silver.total_amount
    d = silver.order_date.dt
    silver = silver.assign(order_year=d.year, order_month=d.month, order_day=d.day,
                           order_dow=d.dayofweek + 1, order_quarter=d.quarter)
    silver.to_parquet(paths.silver_orders, index=False)
    out["silver.orders_enriched"] = len(silver)

    daily = silver.groupby("order_date").agg(num_orders=("order_id", "count"),
                                             total_revenue=("revenue", "sum"),
                                             unique_customers=("customer_id", "nunique")).reset_index()
    daily["avg_order_value"] = (daily.total_revenue / daily.num_orders).round(2)
    customer = silver.groupby(["customer_id", "customer_segment"]).agg(
        total_orders=("order_id", "count"), lifetime_value=("revenue", "sum"),
        first_order_date=("order_date", "min"), last_order_date=("order_date", "max")).reset_index()
    customer["days_active"] = (customer.last_order_date - customer.first_order_date).dt.days
    product = silver.groupby(["product_id", "product_name", "category"]).agg(
        num_orders=("order_id", "count"), units_sold=("quantity", "sum"),
        total_revenue=("revenue", "sum")).reset_index()
    regional = silver.groupby("state").agg(num_orders=("order_id", "count"), total_revenue=("revenue", "sum"),
                                           unique_customers=("customer_id", "nunique")).reset_index()
    for name, df in (("daily_sales", daily.rename(columns={"order_date": "date"})),
                     ("customer_metrics", customer), ("product_performance", product),
                     ("regional_sales", regional)):
        df.to_parquet(paths.gold_parquet(name), index=False)
        out[f"gold.{name}"] = len(df)
    total = round(float(silver.revenue.sum()), 2)
    kpis = {"total_revenue": total, "total_orders": len(silver),
            "avg_order_value": round(total / len(silver), 2) if len(silver) else 0.0,
            "total_customers": int(silver.customer_id.nunique())}
    paths.kpi_report.write_text(json.dumps(kpis, indent=2))
    out["kpis"] = kpis
    logger.info("pandas phase 1: %s", out)
    return out
