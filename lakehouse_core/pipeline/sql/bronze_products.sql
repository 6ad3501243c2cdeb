-- Bronze products: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relation: raw_products (_row = 0-based line number in the CSV, then every column as text).
WITH src AS (
    SELECT
        _row,
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
),
dups AS (  -- keys seen more than once; read from the raw text so `typed` is not scanned twice
    SELECT TRY_CAST(NULLIF(TRIM(product_id), '') AS BIGINT) AS dup_id, MIN(_row) AS first_row
    FROM raw_products
    WHERE TRY_CAST(NULLIF(TRIM(product_id), '') AS BIGINT) IS NOT NULL
    GROUP BY TRY_CAST(NULLIF(TRIM(product_id), '') AS BIGINT)
    HAVING COUNT(*) > 1
)
SELECT
    t._row,
    t.product_id, t.product_name, t.category, t.price, t.stock_quantity,
    CASE
        WHEN t.s_product_id IS NULL THEN 'null_key:product_id'
        WHEN t.product_id IS NULL THEN 'invalid_number:product_id'
        WHEN t.product_name IS NULL THEN 'null_value:product_name'
        WHEN t.category IS NULL THEN 'null_value:category'
        WHEN t.s_price IS NULL THEN 'null_value:price'
        WHEN t.price IS NULL THEN 'invalid_number:price'
        WHEN t.s_stock_quantity IS NOT NULL AND t.stock_quantity IS NULL THEN 'invalid_number:stock_quantity'
        WHEN f.first_row IS NOT NULL AND t._row <> f.first_row THEN 'duplicate_product_id'
        WHEN t.price <= 0 THEN 'nonpositive_price'
        WHEN t.stock_quantity < 0 THEN 'negative_stock'
        WHEN t.category NOT IN ('Electronics', 'Clothing', 'Home', 'Sports', 'Books')
            THEN CONCAT('invalid_category:', t.category)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
LEFT JOIN dups f ON f.dup_id = t.product_id
