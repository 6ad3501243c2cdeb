-- Gold regional_sales from silver.orders_enriched (one row per customer state).
-- unique_customers is counted in two GROUP BY levels (per state and customer, then per state) rather
-- than COUNT(DISTINCT customer_id): DuckDB spills a GROUP BY to disk, a distinct aggregate over
-- millions of customers it cannot. The sums are exact, so the rows are the same.
WITH per_customer AS (
    SELECT state, customer_id, COUNT(*) AS num_orders, SUM(revenue) AS total_revenue
    FROM silver_orders_enriched
    GROUP BY state, customer_id
)
SELECT
    state,
    CAST(SUM(num_orders) AS BIGINT) AS num_orders,
    CAST(SUM(total_revenue) AS DECIMAL(18, 2)) AS total_revenue,
    CAST(COUNT(customer_id) AS BIGINT) AS unique_customers
FROM per_customer
GROUP BY state
ORDER BY state
