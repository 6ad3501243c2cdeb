-- Bronze orders: every raw row, strictly typed (strict_types.sql), flagged with the first failed check.
-- Input relations: raw_orders (_row = ordinal in file order, every column as text, _source = its file,
-- _reject = the reason of a line DuckDB's CSV reader rejected, with _line and _csv_line),
-- dups_orders (dup_id = an order_id seen more than once, first_row = the _row of its first line),
-- valid_customer_ids / valid_product_ids (keys of the valid bronze customers / products).
-- Output: _row, _source, _line, _csv_line, raw_<column> (the original text), the typed bronze columns,
-- data_quality_flag.
-- Lookups are IN subqueries: their hash table is built on the small side, never on the raw rows.
WITH typed AS (
    SELECT
        _row, _source, _reject, _line, _csv_line,
        order_id AS raw_order_id, customer_id AS raw_customer_id, product_id AS raw_product_id,
        order_date AS raw_order_date, quantity AS raw_quantity, total_amount AS raw_total_amount,
        status AS raw_status, payment_method AS raw_payment_method,
        strict_int(order_id) AS order_id,
        strict_int(customer_id) AS customer_id,
        strict_int(product_id) AS product_id,
        strict_date(order_date) AS order_date,
        strict_int(quantity) AS quantity,
        strict_money(total_amount) AS total_amount,
        status, payment_method
    FROM raw_orders
)
SELECT
    t._row, t._source, t._line, t._csv_line,
    t.raw_order_id, t.raw_customer_id, t.raw_product_id, t.raw_order_date, t.raw_quantity,
    t.raw_total_amount, t.raw_status, t.raw_payment_method,
    t.order_id, t.customer_id, t.product_id, t.order_date, t.quantity, t.total_amount,
    t.status, t.payment_method,
    CASE
        WHEN t._reject IS NOT NULL THEN t._reject
        WHEN t.order_id IS NULL AND is_blank(t.raw_order_id) THEN 'null_key:order_id'
        WHEN t.customer_id IS NULL AND is_blank(t.raw_customer_id) THEN 'null_key:customer_id'
        WHEN t.product_id IS NULL AND is_blank(t.raw_product_id) THEN 'null_key:product_id'
        WHEN t.order_id IS NULL THEN int_reason(t.raw_order_id, 'order_id')
        WHEN t.customer_id IS NULL THEN int_reason(t.raw_customer_id, 'customer_id')
        WHEN t.product_id IS NULL THEN int_reason(t.raw_product_id, 'product_id')
        WHEN t.order_id <= 0 THEN 'invalid_id:order_id'
        WHEN t.customer_id <= 0 THEN 'invalid_id:customer_id'
        WHEN t.product_id <= 0 THEN 'invalid_id:product_id'
        WHEN t.order_date IS NULL AND is_blank(t.raw_order_date) THEN 'null_value:order_date'
        WHEN t.quantity IS NULL AND is_blank(t.raw_quantity) THEN 'null_value:quantity'
        WHEN t.total_amount IS NULL AND is_blank(t.raw_total_amount) THEN 'null_value:total_amount'
        WHEN t.status IS NULL THEN 'null_value:status'
        WHEN t.payment_method IS NULL THEN 'null_value:payment_method'
        WHEN t.order_date IS NULL THEN 'unparseable_date:order_date'
        WHEN t.quantity IS NULL THEN int_reason(t.raw_quantity, 'quantity')
        WHEN t.total_amount IS NULL THEN money_reason(t.raw_total_amount, 'total_amount')
        WHEN NOT date_in_range(t.order_date) THEN 'date_out_of_range:order_date'
        WHEN t.order_id IN (SELECT dup_id FROM dups_orders)
            AND t._row NOT IN (SELECT first_row FROM dups_orders) THEN 'duplicate_order_id'
        WHEN t.quantity <= 0 THEN 'nonpositive_quantity'
        WHEN NOT quantity_in_range(t.quantity) THEN 'quantity_out_of_range'
        WHEN t.total_amount < 0 THEN 'negative_amount'
        WHEN t.status NOT IN ('completed', 'pending', 'cancelled') THEN CONCAT('invalid_status:', t.status)
        WHEN t.payment_method NOT IN ('Credit Card', 'PayPal', 'Debit Card')
            THEN CONCAT('invalid_payment_method:', t.payment_method)
        WHEN t.customer_id NOT IN (SELECT customer_id FROM valid_customer_ids) THEN 'orphan_customer_id'
        WHEN t.product_id NOT IN (SELECT product_id FROM valid_product_ids) THEN 'orphan_product_id'
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
