-- One scan of the parsed rows of ${table}: the total row count (is_total) and every ${key} seen more
-- than once. The key is typed exactly as in bronze_${table}.sql.
WITH k AS (SELECT strict_int(${key}) AS dup_id FROM csv_${table})
SELECT dup_id, COUNT(*) AS n, GROUPING(dup_id) = 1 AS is_total
FROM k
GROUP BY GROUPING SETS ((dup_id), ())
HAVING GROUPING(dup_id) = 1 OR (dup_id IS NOT NULL AND COUNT(*) > 1)
