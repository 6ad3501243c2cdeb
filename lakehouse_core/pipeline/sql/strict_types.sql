-- Strict typing of raw text, as macros of the ingest connection (statements separated by ";").
-- A value is typed only when its text is exactly of its kind; TRY_CAST alone rounds "1.5" to 2 and
-- reads "1e3", "0x10", "0b11" and "1_000" as integers, "10.005" as 10.01, "infinity" or "epoch" as dates.
-- Surrounding blanks are allowed (TRIM also strips Unicode spaces); only values that fail the fast
-- untrimmed match pay for TRIM. Text that is exactly how DuckDB prints the typed value (the usual case)
-- is accepted first, without a regular expression: about twice as fast, and that text matches the
-- expression anyway.
CREATE OR REPLACE TEMP MACRO strict_int(x) AS CASE
    WHEN CAST(TRY_CAST(x AS BIGINT) AS VARCHAR) = x THEN TRY_CAST(x AS BIGINT)
    WHEN regexp_full_match(x, '[+-]?[0-9]+') THEN TRY_CAST(x AS BIGINT)
    WHEN regexp_full_match(TRIM(x), '[+-]?[0-9]+') THEN TRY_CAST(TRIM(x) AS BIGINT)
END;
-- money: at most two decimals, within DECIMAL(12, 2)
CREATE OR REPLACE TEMP MACRO strict_money(x) AS CASE
    WHEN CAST(TRY_CAST(x AS DECIMAL(12, 2)) AS VARCHAR) = x THEN TRY_CAST(x AS DECIMAL(12, 2))
    WHEN regexp_full_match(x, '[+-]?([0-9]+([.][0-9]{0,2})?|[.][0-9]{1,2})') THEN TRY_CAST(x AS DECIMAL(12, 2))
    WHEN regexp_full_match(TRIM(x), '[+-]?([0-9]+([.][0-9]{0,2})?|[.][0-9]{1,2})')
        THEN TRY_CAST(TRIM(x) AS DECIMAL(12, 2))
END;
-- dates: YYYY-MM-DD only (a 10-character date that prints as itself is of that form)
CREATE OR REPLACE TEMP MACRO strict_date(x) AS CASE
    WHEN length(x) = 10 AND CAST(TRY_CAST(x AS DATE) AS VARCHAR) = x THEN TRY_CAST(x AS DATE)
    WHEN regexp_full_match(x, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') THEN TRY_CAST(x AS DATE)
    WHEN regexp_full_match(TRIM(x), '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') THEN TRY_CAST(TRIM(x) AS DATE)
END;
CREATE OR REPLACE TEMP MACRO is_blank(x) AS NULLIF(TRIM(x), '') IS NULL;
-- text a number parser would accept (a decimal, an exponent, a prefix, an out-of-range integer)
CREATE OR REPLACE TEMP MACRO is_numeric(x) AS
    TRY_CAST(TRIM(x) AS DOUBLE) IS NOT NULL OR TRY_CAST(TRIM(x) AS BIGINT) IS NOT NULL
    OR regexp_full_match(TRIM(x), '[+-]?[0-9]+');
-- why a non-blank value did not type: numeric text of the wrong kind, or not a number at all
CREATE OR REPLACE TEMP MACRO int_reason(x, col) AS
    CASE WHEN is_numeric(x) THEN 'invalid_integer:' ELSE 'invalid_number:' END || col;
CREATE OR REPLACE TEMP MACRO money_reason(x, col) AS
    CASE WHEN is_numeric(x) THEN 'invalid_amount:' ELSE 'invalid_number:' END || col;
-- the configured ranges (settings.bronze)
CREATE OR REPLACE TEMP MACRO date_in_range(d) AS d BETWEEN DATE '${date_min}' AND DATE '${date_max}';
CREATE OR REPLACE TEMP MACRO quantity_in_range(q) AS q BETWEEN ${quantity_min} AND ${quantity_max};
