-- Gold daily_sales from silver.orders_enriched. avg_order_value is rounded half-up to cents, exactly
-- (integer cents: floor((2 * cents + n) / (2 * n)), revenues are never negative).
-- unique_customers is counted in two GROUP BY levels (per date and customer, then per date) rather
-- than COUNT(DISTINCT customer_id): DuckDB spills a GROUP BY to disk, a distinct aggregate over
-- millions of customers it cannot. The sums are exact, so the rows are the same.
-- Portability: `//` is DuckDB integer division; Spark spells it `div`.
WITH per_customer AS (
    SELECT
        order_date,
        customer_id,
        COUNT(*) AS num_orders,
        SUM(revenue) AS total_revenue,
        SUM(CAST(revenue * 100 AS BIGINT)) AS revenue_cents
    FROM silver_orders_enriched
    GROUP BY order_date, customer_id
),
d AS (
    SELECT
        order_date,
        SUM(num_orders) AS num_orders,
        SUM(total_revenue) AS total_revenue,
        SUM(revenue_cents) AS revenue_cents,
        COUNT(customer_id) AS unique_customers
    FROM per_customer
    GROUP BY order_date
)
SELECT
    order_date AS date,
    CAST(num_orders AS BIGINT) AS num_orders,
    CAST(total_revenue AS DECIMAL(18, 2)) AS total_revenue,
    CAST(unique_customers AS BIGINT) AS unique_customers,
    CAST(CAST((2 * revenue_cents + num_orders) // (2 * num_orders) AS DECIMAL(18, 0))
         * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2)) AS avg_order_value
FROM d
ORDER BY date
