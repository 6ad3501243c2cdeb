-- Bronze customers: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relation: raw_customers (_row = 0-based line number in the CSV, then every column as text).
WITH src AS (
    SELECT
        _row,
        NULLIF(TRIM(customer_id), '') AS s_customer_id,
        email, first_name, last_name, city, state,
        NULLIF(TRIM(registration_date), '') AS s_registration_date,
        customer_segment
    FROM raw_customers
),
typed AS (
    SELECT
        src.*,
        TRY_CAST(s_customer_id AS BIGINT) AS customer_id,
        TRY_CAST(s_registration_date AS DATE) AS registration_date
    FROM src
),
dups AS (  -- keys seen more than once; read from the raw text so `typed` is not scanned twice
    SELECT TRY_CAST(NULLIF(TRIM(customer_id), '') AS BIGINT) AS dup_id, MIN(_row) AS first_row
    FROM raw_customers
    WHERE TRY_CAST(NULLIF(TRIM(customer_id), '') AS BIGINT) IS NOT NULL
    GROUP BY TRY_CAST(NULLIF(TRIM(customer_id), '') AS BIGINT)
    HAVING COUNT(*) > 1
)
SELECT
    t._row,
    t.customer_id, t.email, t.first_name, t.last_name, t.city, t.state,
    t.registration_date, t.customer_segment,
    CASE
        WHEN t.s_customer_id IS NULL THEN 'null_key:customer_id'
        WHEN t.customer_id IS NULL THEN 'invalid_number:customer_id'
        WHEN t.email IS NULL THEN 'null_value:email'
        WHEN t.s_registration_date IS NULL THEN 'null_value:registration_date'
        WHEN t.customer_segment IS NULL THEN 'null_value:customer_segment'
        WHEN t.registration_date IS NULL THEN 'unparseable_date:registration_date'
        WHEN f.first_row IS NOT NULL AND t._row <> f.first_row THEN 'duplicate_customer_id'
        WHEN t.email NOT LIKE '%_@_%' THEN 'invalid_email'
        WHEN t.customer_segment NOT IN ('Premium', 'Standard', 'Basic')
            THEN CONCAT('invalid_segment:', t.customer_segment)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
LEFT JOIN dups f ON f.dup_id = t.customer_id
