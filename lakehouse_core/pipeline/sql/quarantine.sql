-- Quarantine of one table: the original raw text of every flagged row (staged by ingest), its reason
-- and when. Input relation: flagged_${table} (_row + every raw column as text + reason).
SELECT ${raw_columns}, reason, ${quarantined_at} AS quarantined_at
FROM flagged_${table}
ORDER BY _row
