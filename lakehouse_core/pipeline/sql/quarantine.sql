-- Quarantine of one table: the original raw text of every flagged row (staged by ingest), its reason
-- and when, its file, and for a line DuckDB's CSV reader rejected its line number and text.
-- Input relation: flagged_${table} (_row + every raw column as text + reason + source_file, line,
-- csv_line).
SELECT ${raw_columns}, reason, ${quarantined_at} AS quarantined_at, source_file, line, csv_line
FROM flagged_${table}
ORDER BY _row NULLS LAST, source_file, line
