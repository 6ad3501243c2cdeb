-- Bronze customers: every raw row, strictly typed (strict_types.sql), flagged with the first failed
-- check. Input relations: raw_customers (_row = ordinal in file order, every column as text, _source =
-- its file, _reject = the reason of a line DuckDB's CSV reader rejected, with _line and _csv_line),
-- dups_customers (dup_id = a customer_id seen more than once, first_row = the _row of its first line).
-- Output: _row, _source, _line, _csv_line, raw_<column> (the original text), the typed bronze columns,
-- data_quality_flag.
WITH typed AS (
    SELECT
        _row, _source, _reject, _line, _csv_line,
        customer_id AS raw_customer_id, email AS raw_email, first_name AS raw_first_name,
        last_name AS raw_last_name, city AS raw_city, state AS raw_state,
        registration_date AS raw_registration_date, customer_segment AS raw_customer_segment,
        strict_int(customer_id) AS customer_id,
        email, first_name, last_name, city, state,
        strict_date(registration_date) AS registration_date,
        customer_segment
    FROM raw_customers
)
SELECT
    t._row, t._source, t._line, t._csv_line,
    t.raw_customer_id, t.raw_email, t.raw_first_name, t.raw_last_name, t.raw_city, t.raw_state,
    t.raw_registration_date, t.raw_customer_segment,
    t.customer_id, t.email, t.first_name, t.last_name, t.city, t.state,
    t.registration_date, t.customer_segment,
    CASE
        WHEN t._reject IS NOT NULL THEN t._reject
        WHEN t.customer_id IS NULL AND is_blank(t.raw_customer_id) THEN 'null_key:customer_id'
        WHEN t.customer_id IS NULL THEN int_reason(t.raw_customer_id, 'customer_id')
        WHEN t.customer_id <= 0 THEN 'invalid_id:customer_id'
        WHEN t.email IS NULL THEN 'null_value:email'
        WHEN t.registration_date IS NULL AND is_blank(t.raw_registration_date)
            THEN 'null_value:registration_date'
        WHEN t.customer_segment IS NULL THEN 'null_value:customer_segment'
        WHEN t.registration_date IS NULL THEN 'unparseable_date:registration_date'
        WHEN NOT date_in_range(t.registration_date) THEN 'date_out_of_range:registration_date'
        WHEN t.customer_id IN (SELECT dup_id FROM dups_customers)
            AND t._row NOT IN (SELECT first_row FROM dups_customers) THEN 'duplicate_customer_id'
        WHEN t.email NOT LIKE '%_@_%' THEN 'invalid_email'
        WHEN t.customer_segment NOT IN ('Premium', 'Standard', 'Basic')
            THEN CONCAT('invalid_segment:', t.customer_segment)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
