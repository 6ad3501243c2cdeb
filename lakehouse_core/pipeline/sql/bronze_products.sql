-- Bronze products: every raw row, strictly typed (strict_types.sql), flagged with the first failed check.
-- Input relations: raw_products (_row = ordinal in file order, every column as text, _source = its
-- file, _reject = the reason of a line DuckDB's CSV reader rejected, with _line and _csv_line),
-- dups_products (dup_id = a product_id seen more than once, first_row = the _row of its first line).
-- Output: _row, _source, _line, _csv_line, raw_<column> (the original text), the typed bronze columns,
-- data_quality_flag.
WITH typed AS (
    SELECT
        _row, _source, _reject, _line, _csv_line,
        product_id AS raw_product_id, product_name AS raw_product_name, category AS raw_category,
        price AS raw_price, stock_quantity AS raw_stock_quantity,
        strict_int(product_id) AS product_id,
        product_name, category,
        strict_money(price) AS price,
        strict_int(stock_quantity) AS stock_quantity
    FROM raw_products
)
SELECT
    t._row, t._source, t._line, t._csv_line,
    t.raw_product_id, t.raw_product_name, t.raw_category, t.raw_price, t.raw_stock_quantity,
    t.product_id, t.product_name, t.category, t.price, t.stock_quantity,
    CASE
        WHEN t._reject IS NOT NULL THEN t._reject
        WHEN t.product_id IS NULL AND is_blank(t.raw_product_id) THEN 'null_key:product_id'
        WHEN t.product_id IS NULL THEN int_reason(t.raw_product_id, 'product_id')
        WHEN t.product_id <= 0 THEN 'invalid_id:product_id'
        WHEN t.product_name IS NULL THEN 'null_value:product_name'
        WHEN t.category IS NULL THEN 'null_value:category'
        WHEN t.price IS NULL AND is_blank(t.raw_price) THEN 'null_value:price'
        WHEN t.price IS NULL THEN money_reason(t.raw_price, 'price')
        WHEN t.stock_quantity IS NULL AND NOT is_blank(t.raw_stock_quantity)
            THEN int_reason(t.raw_stock_quantity, 'stock_quantity')
        WHEN t.product_id IN (SELECT dup_id FROM dups_products)
            AND t._row NOT IN (SELECT first_row FROM dups_products) THEN 'duplicate_product_id'
        WHEN t.price <= 0 THEN 'nonpositive_price'
        WHEN t.stock_quantity < 0 THEN 'negative_stock'
        WHEN t.category NOT IN ('Electronics', 'Clothing', 'Home', 'Sports', 'Books')
            THEN CONCAT('invalid_category:', t.category)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
