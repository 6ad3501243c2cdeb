-- KPIs over silver.orders_enriched; avg_order_value is derived exactly in Python (half-up to cents).
SELECT
    COALESCE(CAST(SUM(revenue) AS DECIMAL(18, 2)), CAST(0 AS DECIMAL(18, 2))) AS total_revenue,
    CAST(COUNT(*) AS BIGINT) AS total_orders,
    CAST(COUNT(DISTINCT customer_id) AS BIGINT) AS total_customers
FROM silver_orders_enriched
