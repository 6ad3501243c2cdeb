-- KPIs over silver.orders_enriched; avg_order_value is derived exactly in Python (half-up to cents).
-- total_customers is counted in two GROUP BY levels (per customer, then in all) rather than
-- COUNT(DISTINCT customer_id): DuckDB spills a GROUP BY to disk, a distinct aggregate over millions of
-- customers it cannot. The sums are exact, so the row is the same.
WITH per_customer AS (
    SELECT customer_id, COUNT(*) AS num_orders, SUM(revenue) AS total_revenue
    FROM silver_orders_enriched
    GROUP BY customer_id
)
SELECT
    COALESCE(CAST(SUM(total_revenue) AS DECIMAL(18, 2)), CAST(0 AS DECIMAL(18, 2))) AS total_revenue,
    CAST(COALESCE(SUM(num_orders), 0) AS BIGINT) AS total_orders,
    CAST(COUNT(customer_id) AS BIGINT) AS total_customers
FROM per_customer
