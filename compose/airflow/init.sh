#!/bin/bash
# One-shot airflow-init of the Compose stack: migrate Airflow's metadata database, then write the
# password file of the simple auth manager (user ${AIRFLOW_ADMIN_USER}, role admin) on the shared
# airflow-auth volume that every Airflow component reads.
set -euo pipefail
airflow db migrate
python3 - <<'PY'
import json, os, pathlib
path = pathlib.Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
tmp = path.with_suffix(".tmp")
tmp.write_text(json.dumps({os.environ["AIRFLOW_ADMIN_USER"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}))
tmp.chmod(0o644)
tmp.replace(path)
PY
echo "airflow-init: database migrated, admin ${AIRFLOW_ADMIN_USER} written"
