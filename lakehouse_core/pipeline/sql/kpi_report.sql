-- KPIs from gold.customer_metrics, one row per customer_id of silver.orders_enriched (a NULL one
-- included): the sums over silver, from about a fifth of its rows; avg_order_value is derived exactly
-- in Python (half-up to cents). total_customers counts the non-NULL ids: COUNT(DISTINCT customer_id)
-- over silver, but in two GROUP BY levels (per customer in gold, then here), which DuckDB spills.
SELECT
    COALESCE(CAST(SUM(lifetime_value) AS DECIMAL(18, 2)), CAST(0 AS DECIMAL(18, 2))) AS total_revenue,
    CAST(COALESCE(SUM(total_orders), 0) AS BIGINT) AS total_orders,
    CAST(COUNT(customer_id) AS BIGINT) AS total_customers
FROM gold_customer_metrics
