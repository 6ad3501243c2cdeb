-- Gold product_performance from silver.orders_enriched (one row per product with a silver order).
SELECT
    product_id,
    MIN(product_name) AS product_name,
    MIN(category) AS category,
    CAST(COUNT(*) AS BIGINT) AS num_orders,
    CAST(SUM(quantity) AS BIGINT) AS units_sold,
    CAST(SUM(revenue) AS DECIMAL(18, 2)) AS total_revenue
FROM silver_orders_enriched
GROUP BY product_id
ORDER BY product_id
