"""Imported by Airflow at the start of the scheduler (scripts/services/airflow.sh puts this folder on
the scheduler's PYTHONPATH only): the scheduler imports the code the DAG's tasks run, so its
LocalExecutor workers, and the task processes they fork, start with it loaded instead of importing
it anew for every task (seconds per task on a busy machine)."""

from __future__ import annotations

import logging

try:
    import lakehouse_core.phases.dag_step  # noqa: F401 - loaded for the forked task processes
except Exception:  # noqa: BLE001 - a broken import fails the tasks with its traceback, not the scheduler
    logging.getLogger(__name__).exception("could not preload lakehouse_core for the DAG's tasks")
