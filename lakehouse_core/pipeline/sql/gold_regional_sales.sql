-- Gold regional_sales from silver.orders_enriched (one row per customer state).
SELECT
    state,
    CAST(COUNT(*) AS BIGINT) AS num_orders,
    CAST(SUM(revenue) AS DECIMAL(18, 2)) AS total_revenue,
    CAST(COUNT(DISTINCT customer_id) AS BIGINT) AS unique_customers
FROM silver_orders_enriched
GROUP BY state
ORDER BY state
