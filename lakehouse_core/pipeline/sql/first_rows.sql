-- The first line (_row) of every duplicated ${key} of raw_${table} (dup keys from key_counts.sql).
-- The key is typed exactly as in bronze_${table}.sql.
WITH k AS (SELECT _row, strict_int(${key}) AS dup_id FROM raw_${table})
SELECT dup_id, MIN(_row) AS first_row
FROM k
WHERE dup_id IN (SELECT dup_id FROM key_counts_${table} WHERE NOT is_total)
GROUP BY dup_id
