"""Healthcheck of one Airflow component in the Compose stack (stdlib only, no Airflow import).

    python3 health.py scheduler|dag_processor|triggerer|metadatabase

Exit 0 when the api-server's /api/v2/monitor/health (AIRFLOW_HEALTH_URL) reports that component
"healthy" (its heartbeat is recent), 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

URL = os.environ.get("AIRFLOW_HEALTH_URL", "http://127.0.0.1:8080/api/v2/monitor/health")


def main(component: str) -> int:
    try:
        with urllib.request.urlopen(URL, timeout=4) as response:  # noqa: S310 - fixed http URL
            body = json.load(response)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"{URL}: {exc}\n")
        return 1
    status = (body.get(component) or {}).get("status")
    if status != "healthy":
        sys.stderr.write(f"{component}: {status}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "scheduler"))
