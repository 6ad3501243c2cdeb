-- Gold customer_metrics from silver.orders_enriched (one row per customer with a silver order).
-- Portability: DATE_DIFF('day', a, b) is DuckDB; Spark spells it DATEDIFF(b, a).
SELECT
    customer_id,
    MIN(customer_segment) AS customer_segment,
    CAST(COUNT(*) AS BIGINT) AS total_orders,
    CAST(SUM(revenue) AS DECIMAL(18, 2)) AS lifetime_value,
    MIN(order_date) AS first_order_date,
    MAX(order_date) AS last_order_date,
    CAST(DATE_DIFF('day', MIN(order_date), MAX(order_date)) AS BIGINT) AS days_active
FROM silver_orders_enriched
GROUP BY customer_id
ORDER BY customer_id
