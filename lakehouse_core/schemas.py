"""Column contracts of every layer (the platform's data model). Parquet files and Iceberg tables follow these.

Money is DECIMAL(12,2) (sums reconcile exactly); dates are DATE; ``ingested_at`` is a UTC TIMESTAMP
(no time zone). Names in Iceberg: ``bronze.<table>``, ``silver.orders_enriched``, ``gold.<table>``.
"""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(12, 2)
BIG_MONEY = pa.decimal128(18, 2)

SEGMENTS = ("Premium", "Standard", "Basic")
CATEGORIES = ("Electronics", "Clothing", "Home", "Sports", "Books")
STATUSES = ("completed", "pending", "cancelled")
PAYMENT_METHODS = ("Credit Card", "PayPal", "Debit Card")

# ------------------------------------------------------------------ raw CSV (header = these names, in order)
RAW_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id", "email", "first_name", "last_name", "city", "state",
        "registration_date", "customer_segment",
    ),
    "products": ("product_id", "product_name", "category", "price", "stock_quantity"),
    "orders": (
        "order_id", "customer_id", "product_id", "order_date", "quantity",
        "total_amount", "status", "payment_method",
    ),
}

# ---------------------------------------------------- bronze (typed with TRY_CAST; + lineage columns)
_LINEAGE = [
    pa.field("ingested_at", pa.timestamp("us")),
    pa.field("data_quality_flag", pa.string()),  # "valid", or the first failed check's reason
    pa.field("source_file", pa.string()),
]

BRONZE: dict[str, pa.Schema] = {
    "customers": pa.schema([
        pa.field("customer_id", pa.int64()),
        pa.field("email", pa.string()),
        pa.field("first_name", pa.string()),
        pa.field("last_name", pa.string()),
        pa.field("city", pa.string()),
        pa.field("state", pa.string()),
        pa.field("registration_date", pa.date32()),
        pa.field("customer_segment", pa.string()),
        *_LINEAGE,
    ]),
    "products": pa.schema([
        pa.field("product_id", pa.int64()),
        pa.field("product_name", pa.string()),
        pa.field("category", pa.string()),
        pa.field("price", MONEY),
        pa.field("stock_quantity", pa.int64()),
        *_LINEAGE,
    ]),
    "orders": pa.schema([
        pa.field("order_id", pa.int64()),
        pa.field("customer_id", pa.int64()),
        pa.field("product_id", pa.int64()),
        pa.field("order_date", pa.date32()),
        pa.field("quantity", pa.int64()),
        pa.field("total_amount", MONEY),
        pa.field("status", pa.string()),
        pa.field("payment_method", pa.string()),
        *_LINEAGE,
    ]),
}

# ------------------------------------------------------------------ silver
SILVER_ORDERS_ENRICHED = pa.schema([
    pa.field("order_id", pa.int64()),
    pa.field("customer_id", pa.int64()),
    pa.field("product_id", pa.int64()),
    pa.field("order_date", pa.date32()),
    pa.field("quantity", pa.int64()),
    pa.field("total_amount", MONEY),
    pa.field("status", pa.string()),  # completed | pending (cancelled are dropped)
    pa.field("payment_method", pa.string()),
    pa.field("customer_segment", pa.string()),
    pa.field("city", pa.string()),
    pa.field("state", pa.string()),
    pa.field("product_name", pa.string()),
    pa.field("category", pa.string()),
    pa.field("unit_price", MONEY),
    pa.field("revenue", MONEY),  # = total_amount
    pa.field("order_year", pa.int32()),
    pa.field("order_month", pa.int32()),
    pa.field("order_day", pa.int32()),
    pa.field("order_dow", pa.int32()),  # ISO day of week, 1 = Monday
    pa.field("order_quarter", pa.int32()),
])

# ------------------------------------------------------------------ gold
GOLD: dict[str, pa.Schema] = {
    "daily_sales": pa.schema([
        pa.field("date", pa.date32()),
        pa.field("num_orders", pa.int64()),
        pa.field("total_revenue", BIG_MONEY),
        pa.field("unique_customers", pa.int64()),
        pa.field("avg_order_value", BIG_MONEY),  # rounded half-up to cents
    ]),
    "customer_metrics": pa.schema([
        pa.field("customer_id", pa.int64()),
        pa.field("customer_segment", pa.string()),
        pa.field("total_orders", pa.int64()),
        pa.field("lifetime_value", BIG_MONEY),
        pa.field("first_order_date", pa.date32()),
        pa.field("last_order_date", pa.date32()),
        pa.field("days_active", pa.int64()),  # last_order_date - first_order_date, in days
    ]),
    "product_performance": pa.schema([
        pa.field("product_id", pa.int64()),
        pa.field("product_name", pa.string()),
        pa.field("category", pa.string()),
        pa.field("num_orders", pa.int64()),
        pa.field("units_sold", pa.int64()),
        pa.field("total_revenue", BIG_MONEY),
    ]),
    "regional_sales": pa.schema([
        pa.field("state", pa.string()),
        pa.field("num_orders", pa.int64()),
        pa.field("total_revenue", BIG_MONEY),
        pa.field("unique_customers", pa.int64()),
    ]),
}
