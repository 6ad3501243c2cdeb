-- Silver: valid orders joined to valid customers and products; cancelled orders dropped.
-- Input relations: bronze_orders, bronze_customers, bronze_products (bronze Parquet).
-- Portability: EXTRACT(ISODOW ...) is DuckDB/PostgreSQL; Spark spells it EXTRACT(DAYOFWEEK_ISO FROM ...).
SELECT
    o.order_id, o.customer_id, o.product_id, o.order_date, o.quantity, o.total_amount,
    o.status, o.payment_method,
    c.customer_segment, c.city, c.state,
    p.product_name, p.category,
    p.price AS unit_price,
    o.total_amount AS revenue,
    CAST(EXTRACT(YEAR FROM o.order_date) AS INTEGER) AS order_year,
    CAST(EXTRACT(MONTH FROM o.order_date) AS INTEGER) AS order_month,
    CAST(EXTRACT(DAY FROM o.order_date) AS INTEGER) AS order_day,
    CAST(EXTRACT(ISODOW FROM o.order_date) AS INTEGER) AS order_dow,
    CAST(EXTRACT(QUARTER FROM o.order_date) AS INTEGER) AS order_quarter
FROM bronze_orders o
JOIN bronze_customers c ON c.customer_id = o.customer_id AND c.data_quality_flag = 'valid'
JOIN bronze_products p ON p.product_id = o.product_id AND p.data_quality_flag = 'valid'
WHERE o.data_quality_flag = 'valid' AND o.status <> 'cancelled'
