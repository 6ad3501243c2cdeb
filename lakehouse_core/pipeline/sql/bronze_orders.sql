-- Bronze orders: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relations: raw_orders (_row = 0-based line number in the CSV, then every column as text),
-- valid_customer_ids / valid_product_ids (keys of the valid bronze customers / products).
WITH src AS (
    SELECT
        _row,
        NULLIF(TRIM(order_id), '') AS s_order_id,
        NULLIF(TRIM(customer_id), '') AS s_customer_id,
        NULLIF(TRIM(product_id), '') AS s_product_id,
        NULLIF(TRIM(order_date), '') AS s_order_date,
        NULLIF(TRIM(quantity), '') AS s_quantity,
        NULLIF(TRIM(total_amount), '') AS s_total_amount,
        status, payment_method
    FROM raw_orders
),
typed AS (
    SELECT
        src.*,
        TRY_CAST(s_order_id AS BIGINT) AS order_id,
        TRY_CAST(s_customer_id AS BIGINT) AS customer_id,
        TRY_CAST(s_product_id AS BIGINT) AS product_id,
        TRY_CAST(s_order_date AS DATE) AS order_date,
        TRY_CAST(s_quantity AS BIGINT) AS quantity,
        TRY_CAST(s_total_amount AS DECIMAL(12, 2)) AS total_amount
    FROM src
),
dups AS (  -- keys seen more than once; read from the raw text so `typed` is not scanned twice
    SELECT TRY_CAST(NULLIF(TRIM(order_id), '') AS BIGINT) AS dup_id, MIN(_row) AS first_row
    FROM raw_orders
    WHERE TRY_CAST(NULLIF(TRIM(order_id), '') AS BIGINT) IS NOT NULL
    GROUP BY TRY_CAST(NULLIF(TRIM(order_id), '') AS BIGINT)
    HAVING COUNT(*) > 1
)
SELECT
    t._row,
    t.order_id, t.customer_id, t.product_id, t.order_date, t.quantity, t.total_amount,
    t.status, t.payment_method,
    CASE
        WHEN t.s_order_id IS NULL THEN 'null_key:order_id'
        WHEN t.s_customer_id IS NULL THEN 'null_key:customer_id'
        WHEN t.s_product_id IS NULL THEN 'null_key:product_id'
        WHEN t.order_id IS NULL THEN 'invalid_number:order_id'
        WHEN t.customer_id IS NULL THEN 'invalid_number:customer_id'
        WHEN t.product_id IS NULL THEN 'invalid_number:product_id'
        WHEN t.s_order_date IS NULL THEN 'null_value:order_date'
        WHEN t.s_quantity IS NULL THEN 'null_value:quantity'
        WHEN t.s_total_amount IS NULL THEN 'null_value:total_amount'
        WHEN t.status IS NULL THEN 'null_value:status'
        WHEN t.payment_method IS NULL THEN 'null_value:payment_method'
        WHEN t.order_date IS NULL THEN 'unparseable_date:order_date'
        WHEN t.quantity IS NULL THEN 'invalid_number:quantity'
        WHEN t.total_amount IS NULL THEN 'invalid_number:total_amount'
        WHEN f.first_row IS NOT NULL AND t._row <> f.first_row THEN 'duplicate_order_id'
        WHEN t.quantity <= 0 THEN 'nonpositive_quantity'
        WHEN t.total_amount < 0 THEN 'negative_amount'
        WHEN t.status NOT IN ('completed', 'pending', 'cancelled') THEN CONCAT('invalid_status:', t.status)
        WHEN t.payment_method NOT IN ('Credit Card', 'PayPal', 'Debit Card')
            THEN CONCAT('invalid_payment_method:', t.payment_method)
        WHEN vc.customer_id IS NULL THEN 'orphan_customer_id'
        WHEN vp.product_id IS NULL THEN 'orphan_product_id'
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
LEFT JOIN dups f ON f.dup_id = t.order_id
LEFT JOIN valid_customer_ids vc ON vc.customer_id = t.customer_id
LEFT JOIN valid_product_ids vp ON vp.product_id = t.product_id
