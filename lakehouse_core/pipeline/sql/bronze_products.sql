-- Bronze products: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relations: raw_products (_row = 0-based line number in the CSV, then every column as text),
-- dups_products (dup_id = a product_id seen more than once, first_row = the _row of its first line).
-- Output: _row, raw_<column> (the original text), the typed bronze columns, data_quality_flag.
WITH src AS (
    SELECT
        _row,
        product_id AS raw_product_id, product_name AS raw_product_name, category AS raw_category,
        price AS raw_price, stock_quantity AS raw_stock_quantity,
        TRY_CAST(product_id AS BIGINT) AS c_product_id,
        product_name, category,
        TRY_CAST(price AS DECIMAL(12, 2)) AS c_price,
        TRY_CAST(stock_quantity AS BIGINT) AS c_stock_quantity
    FROM raw_products
),
-- TRY_CAST skips surrounding ASCII blanks; only values it rejects pay for TRIM (which also strips
-- Unicode spaces): the same result as TRY_CAST(NULLIF(TRIM(x), '')), at a fraction of the cost.
typed AS (
    SELECT
        src.*,
        CASE WHEN c_product_id IS NULL AND raw_product_id IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_product_id), '') AS BIGINT)
            ELSE c_product_id END AS product_id,
        CASE WHEN c_price IS NULL AND raw_price IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_price), '') AS DECIMAL(12, 2))
            ELSE c_price END AS price,
        CASE WHEN c_stock_quantity IS NULL AND raw_stock_quantity IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_stock_quantity), '') AS BIGINT)
            ELSE c_stock_quantity END AS stock_quantity
    FROM src
)
SELECT
    t._row,
    t.raw_product_id, t.raw_product_name, t.raw_category, t.raw_price, t.raw_stock_quantity,
    t.product_id, t.product_name, t.category, t.price, t.stock_quantity,
    CASE
        WHEN t.product_id IS NULL AND NULLIF(TRIM(t.raw_product_id), '') IS NULL
            THEN 'null_key:product_id'
        WHEN t.product_id IS NULL THEN 'invalid_number:product_id'
        WHEN t.product_name IS NULL THEN 'null_value:product_name'
        WHEN t.category IS NULL THEN 'null_value:category'
        WHEN t.price IS NULL AND NULLIF(TRIM(t.raw_price), '') IS NULL
            THEN 'null_value:price'
        WHEN t.price IS NULL THEN 'invalid_number:price'
        WHEN t.stock_quantity IS NULL AND NULLIF(TRIM(t.raw_stock_quantity), '') IS NOT NULL
            THEN 'invalid_number:stock_quantity'
        WHEN t.product_id IN (SELECT dup_id FROM dups_products)
            AND t._row NOT IN (SELECT first_row FROM dups_products) THEN 'duplicate_product_id'
        WHEN t.price <= 0 THEN 'nonpositive_price'
        WHEN t.stock_quantity < 0 THEN 'negative_stock'
        WHEN t.category NOT IN ('Electronics', 'Clothing', 'Home', 'Sports', 'Books')
            THEN CONCAT('invalid_category:', t.category)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
