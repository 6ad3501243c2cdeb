#!/bin/bash
# First start of the stack's PostgreSQL (run once by the image's entrypoint on an empty data volume):
# Airflow's metadata database and its own role, password ${AIRFLOW_DB_PASSWORD} from compose/.env.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v airflow_password="$AIRFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
SQL
