-- Quarantine of one table: the original raw text of every flagged row, its reason and when.
-- Input relations: raw_${table} (_row + every column as text), bronze_${table}_rows (_row + flag).
SELECT ${raw_columns}, b.data_quality_flag AS reason, ${quarantined_at} AS quarantined_at
FROM raw_${table} r
JOIN bronze_${table}_rows b ON b._row = r._row
WHERE b.data_quality_flag <> 'valid'
ORDER BY r._row
