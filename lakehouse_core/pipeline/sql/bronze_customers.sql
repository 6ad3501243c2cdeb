-- Bronze customers: every raw row, typed with TRY_CAST, flagged with the first failed check.
-- Input relations: raw_customers (_row = 0-based line number in the CSV, then every column as text),
-- dups_customers (dup_id = a customer_id seen more than once, first_row = the _row of its first line).
-- Output: _row, raw_<column> (the original text), the typed bronze columns, data_quality_flag.
WITH src AS (
    SELECT
        _row,
        customer_id AS raw_customer_id, email AS raw_email, first_name AS raw_first_name,
        last_name AS raw_last_name, city AS raw_city, state AS raw_state,
        registration_date AS raw_registration_date, customer_segment AS raw_customer_segment,
        TRY_CAST(customer_id AS BIGINT) AS c_customer_id,
        email, first_name, last_name, city, state,
        TRY_CAST(registration_date AS DATE) AS c_registration_date,
        customer_segment
    FROM raw_customers
),
-- TRY_CAST skips surrounding ASCII blanks; only values it rejects pay for TRIM (which also strips
-- Unicode spaces): the same result as TRY_CAST(NULLIF(TRIM(x), '')), at a fraction of the cost.
typed AS (
    SELECT
        src.*,
        CASE WHEN c_customer_id IS NULL AND raw_customer_id IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_customer_id), '') AS BIGINT)
            ELSE c_customer_id END AS customer_id,
        CASE WHEN c_registration_date IS NULL AND raw_registration_date IS NOT NULL
            THEN TRY_CAST(NULLIF(TRIM(raw_registration_date), '') AS DATE)
            ELSE c_registration_date END AS registration_date
    FROM src
)
SELECT
    t._row,
    t.raw_customer_id, t.raw_email, t.raw_first_name, t.raw_last_name, t.raw_city, t.raw_state,
    t.raw_registration_date, t.raw_customer_segment,
    t.customer_id, t.email, t.first_name, t.last_name, t.city, t.state,
    t.registration_date, t.customer_segment,
    CASE
        WHEN t.customer_id IS NULL AND NULLIF(TRIM(t.raw_customer_id), '') IS NULL
            THEN 'null_key:customer_id'
        WHEN t.customer_id IS NULL THEN 'invalid_number:customer_id'
        WHEN t.email IS NULL THEN 'null_value:email'
        WHEN t.registration_date IS NULL AND NULLIF(TRIM(t.raw_registration_date), '') IS NULL
            THEN 'null_value:registration_date'
        WHEN t.customer_segment IS NULL THEN 'null_value:customer_segment'
        WHEN t.registration_date IS NULL THEN 'unparseable_date:registration_date'
        WHEN t.customer_id IN (SELECT dup_id FROM dups_customers)
            AND t._row NOT IN (SELECT first_row FROM dups_customers) THEN 'duplicate_customer_id'
        WHEN t.email NOT LIKE '%_@_%' THEN 'invalid_email'
        WHEN t.customer_segment NOT IN ('Premium', 'Standard', 'Basic')
            THEN CONCAT('invalid_segment:', t.customer_segment)
        ELSE 'valid'
    END AS data_quality_flag
FROM typed t
