-- Bronze orders: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relations: raw_orders (_row = 0-based line number in the CSV, then every column as text),
-- dups_orders (dup_id = an order_id seen more than once, first_row = the _row of its first line),
-- valid_customer_ids / valid_product_ids (keys of the valid bronze customers / products).
-- Output: _row, raw_<column> (the original text), the typed bronze columns, data_quality_flag.
-- Lookups are IN subqueries: their hash table is built on the small side, never on the raw rows.
WITH src AS (
    SELECT
        _row,
        order_id AS raw_order_id, customer_id AS raw_customer_id, product_id AS raw_product_id,
        order_date AS raw_order_date, quantity AS raw_quantity, total_amount AS raw_total_amount,
        status AS raw_status, payment_method AS raw_payment_method,
        TRY_CAST(order_id AS BIGINT) AS c_order_id,
        TRY_CAST(customer_id AS BIGINT) AS c_customer_id,
        TRY_CAST(product_id AS BIGINT) AS c_product_id,
        TRY_CAST(order_date AS DATE) AS c_order_date,
        TRY_CAST(quantity AS BIGINT) AS c_quantity,
        TRY_CAST(total_amount AS DECIMAL(12, 2)) AS c_total_amount,
        status, payment_method
    FROM raw_orders
),
-- TRY_CAST skips surrounding ASCII blanks; only values it rejects pay for TRIM (which also strips
-- Unicode spaces): the same result as TRY_CAST(NULLIF(TRIM(x), '')), at a fraction of the cost.
typed AS (
    SELECT
        src.*,
        CASE WHEN c_order_id IS NULL AND raw_order_id IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_order_id), '') AS BIGINT)
            ELSE c_order_id END AS order_id,
        CASE WHEN c_customer_id IS NULL AND raw_customer_id IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_customer_id), '') AS BIGINT)
            ELSE c_customer_id END AS customer_id,
        CASE WHEN c_product_id IS NULL AND raw_product_id IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_product_id), '') AS BIGINT)
            ELSE c_product_id END AS product_id,
        CASE WHEN c_order_date IS NULL AND raw_order_date IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_order_date), '') AS DATE)
            ELSE c_order_date END AS order_date,
        CASE WHEN c_quantity IS NULL AND raw_quantity IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_quantity), '') AS BIGINT)
            ELSE c_quantity END AS quantity,
        CASE WHEN c_total_amount IS NULL AND raw_total_amount IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_total_amount), '') AS DECIMAL(12, 2))
            ELSE c_total_amount END AS total_amount
    FROM src
)
SELECT
    t._row,
    t.raw_order_id, t.raw_customer_id, t.raw_product_id, t.raw_order_date, t.raw_quantity,
    t.raw_total_amount, t.raw_status, t.raw_payment_method,
    t.order_id, t.customer_id, t.product_id, t.order_date, t.quantity, t.total_amount,
    t.status, t.payment_method,
    CASE
        WHEN t.order_id IS NULL AND NULLIF(TRIM(t.raw_order_id), '') IS NULL
            THEN 'null_key:order_id'
        WHEN t.customer_id IS NULL AND NULLIF(TRIM(t.raw_customer_id), '') IS NULL
            THEN 'null_key:customer_id'
        WHEN t.product_id IS NULL AND NULLIF(TRIM(t.raw_product_id), '') IS NULL
            THEN 'null_key:product_id'
        WHEN t.order_id IS NULL THEN 'invalid_number:order_id'
        WHEN t.customer_id IS NULL THEN 'invalid_number:customer_id'
        WHEN t.product_id IS NULL THEN 'invalid_number:product_id'
        WHEN t.order_date IS NULL AND NULLIF(TRIM(t.raw_order_date), '') IS NULL
            THEN 'null_value:order_date'
        WHEN t.quantity IS NULL AND NULLIF(TRIM(t.raw_quantity), '') IS NULL
            THEN 'null_value:quantity'
        WHEN t.total_amount IS NULL AND NULLIF(TRIM(t.raw_total_amount), '') IS NULL
            THEN 'null_value:total_amount'
        WHEN t.status IS NULL THEN 'null_value:status'
        WHEN t.payment_method IS NULL THEN 'null_value:payment_method'
        WHEN t.order_date IS NULL THEN 'unparseable_date:order_date'
        WHEN t.quantity IS NULL THEN 'invalid_number:quantity'
        WHEN t.total_amount IS NULL THEN 'invalid_number:total_amount'
        WHEN t.order_id IN (SELECT dup_id FROM dups_orders)
            AND t._row NOT IN (SELECT first_row FROM dups_orders) THEN 'duplicate_order_id'
        WHEN t.quantity <= 0 THEN 'nonpositive_quantity'
        WHEN t.total_amount < 0 THEN 'negative_amount'
        WHEN t.status NOT IN ('completed', 'pending', 'cancelled') THEN CONCAT('invalid_status:', t.status)
        WHEN t.payment_method NOT IN ('Credit Card', 'PayPal', 'Debit Card')
            THEN CONCAT('invalid_payment_method:', t.payment_method)
        WHEN t.customer_id NOT IN (SELECT customer_id FROM valid_customer_ids) THEN 'orphan_customer_id'
        WHEN t.product_id NOT IN (SELECT product_id FROM valid_product_ids) THEN 'orphan_product_id'
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
