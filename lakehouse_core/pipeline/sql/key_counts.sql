-- One scan of raw_${table}: the total row count (is_total) and every ${key} seen more than once.
-- The key is typed exactly as in bronze_${table}.sql.
SELECT
    TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT) AS dup_id,
    COUNT(*) AS n,
    GROUPING(TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT)) = 1 AS is_total
FROM raw_${table}
GROUP BY GROUPING SETS ((TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT)), ())
HAVING GROUPING(TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT)) = 1
    OR (TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT) IS NOT NULL AND COUNT(*) > 1)
