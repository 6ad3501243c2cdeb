-- The first line (_row) of every duplicated ${key} of raw_${table} (dup keys from key_counts.sql).
SELECT TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT) AS dup_id, MIN(_row) AS first_row
FROM raw_${table}
WHERE TRY_CAST(NULLIF(TRIM(${key}), '') AS BIGINT) IN (SELECT dup_id FROM key_counts_${table} WHERE NOT is_total)
GROUP BY 1
