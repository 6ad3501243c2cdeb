-- Bronze products: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relations: raw_products (_row = 0-based line number in the CSV, then every column as text),
-- dups_products (dup_id = a product_id seen more than once, first_row = the _row of its first line).
-- Output: _row, raw_<column> (the original text), the typed bronze columns, data_quality_flag.
WITH src AS (
    SELECT
        _row,
        product_id AS raw_product_id, product_name AS raw_product_name, category AS raw_category,
        price AS raw_price, stock_quantity AS raw_stock_quantity,
        NULLIF(TRIM(product_id), '') AS s_product_id,
        product_name, category,
        NULLIF(TRIM(price), '') AS s_price,
        NULLIF(TRIM(stock_quantity), '') AS s_stock_quantity
    FROM raw_products
),
typed AS (
    SELECT
        src.*,
        TRY_CAST(s_product_id AS BIGINT) AS product_id,
        TRY_CAST(s_price AS DECIMAL(12, 2)) AS price,
        TRY_CAST(s_stock_quantity AS BIGINT) AS stock_quantity
    FROM src
)
SELECT
    t._row,
    t.raw_product_id, t.raw_product_name, t.raw_category, t.raw_price, t.raw_stock_quantity,
    t.product_id, t.product_name, t.category, t.price, t.stock_quantity,
    CASE
        WHEN t.s_product_id IS NULL THEN 'null_key:product_id'
        WHEN t.product_id IS NULL THEN 'invalid_number:product_id'
        WHEN t.product_name IS NULL THEN 'null_value:product_name'
        WHEN t.category IS NULL THEN 'null_value:category'
        WHEN t.s_price IS NULL THEN 'null_value:price'
        WHEN t.price IS NULL THEN 'invalid_number:price'
        WHEN t.s_stock_quantity IS NOT NULL AND t.stock_quantity IS NULL THEN 'invalid_number:stock_quantity'
        WHEN t.product_id IN (SELECT dup_id FROM dups_products)
            AND t._row NOT IN (SELECT first_row FROM dups_products) THEN 'duplicate_product_id'
        WHEN t.price <= 0 THEN 'nonpositive_price'
        WHEN t.stock_quantity < 0 THEN 'negative_stock'
        WHEN t.category NOT IN ('Electronics', 'Clothing', 'Home', 'Sports', 'Books')
            THEN CONCAT('invalid_category:', t.category)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
