"""Airflow 3's REST API v2 (``/api/v2``) for what the project does with it: trigger a DAG run, follow
its task instances and their logs, fail a run, list runs. Token auth: ``POST /auth/token`` with the
configured user (simple auth manager), sent as ``Authorization: Bearer``; a 401 takes a new token
once. Transport errors and non-2xx answers are mapped by ``_http`` like every other client's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.errors import ConfigError, LakehouseError, NotFoundError
from lakehouse_core.models import DagRunInfo, TaskInstanceInfo
from lakehouse_core.settings import AirflowSettings

logger = logging.getLogger(__name__)

TERMINAL_RUN_STATES = ("success", "failed")
FAILED_TASK_STATES = ("failed", "upstream_failed")


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _seg(value: str) -> str:
    return quote(value, safe="")


def dag_run_info(body: Mapping[str, Any]) -> DagRunInfo:
    """A DagRunInfo from a DAGRunResponse."""
    return DagRunInfo(
        dag_id=str(body.get("dag_id", "")),
        run_id=str(body["dag_run_id"]),
        state=str(body.get("state") or "queued"),
        run_type=str(body.get("run_type") or ""),
        started_at=_when(body.get("start_date")),
        finished_at=_when(body.get("end_date")),
        duration_s=float(body["duration"]) if body.get("duration") is not None else None,
        conf=dict(body.get("conf") or {}),
    )


def task_instance_info(body: Mapping[str, Any]) -> TaskInstanceInfo:
    """A TaskInstanceInfo from a TaskInstanceResponse."""
    return TaskInstanceInfo(
        task_id=str(body["task_id"]),
        state=str(body.get("state") or "none"),
        try_number=int(body.get("try_number") or 0),
        started_at=_when(body.get("start_date")),
        finished_at=_when(body.get("end_date")),
        duration_s=float(body["duration"]) if body.get("duration") is not None else None,
    )


def log_line(event: Any) -> str:
    """One structured log event (or a plain line) as text: ``level event`` with the error's type."""
    if not isinstance(event, Mapping):
        return str(event)
    text = str(event.get("event", ""))
    for detail in event.get("error_detail") or []:
        if isinstance(detail, Mapping) and detail.get("exc_type"):
            text += f" {detail['exc_type']}: {detail.get('exc_value', '')}"
    level = str(event.get("level", "")).lower()
    if level in ("error", "critical") and not text.upper().startswith(level.upper()):
        text = f"{level.upper()}: {text}"
    return text


class AirflowClient:
    """The REST calls of one Airflow; nothing is sent until a method is called. Also the stack's
    DagRunBrowser (``recent_runs``, ``task_instances``, ``task_log``)."""

    def __init__(self, settings: AirflowSettings, *, timeout_s: float) -> None:
        if not settings.url:
            raise ConfigError("airflow is not configured: set LAKEHOUSE_AIRFLOW__URL (e.g. http://127.0.0.1:8085)")
        self.settings = settings
        self.dag_id = settings.dag_id
        self._http = HttpClient("airflow", settings.url, timeout_s=timeout_s)
        self._token: str | None = None
        self._order: list[str] | None = None

    # ------------------------------------------------------------ transport
    def _login(self) -> str:
        body = self._http.post_json(
            "/auth/token",
            {"username": self.settings.user, "password": self.settings.password.get_secret_value()},
        )
        token = (body or {}).get("access_token")
        if not token:
            raise LakehouseError("airflow: /auth/token returned no access_token", title="airflow error")
        return str(token)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._login()
            headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
            except LakehouseError as exc:
                if attempt == 1 and "HTTP 401" in str(exc):
                    self._token = None  # expired or from another api-server secret: log in again
                    continue
                raise
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ DAGs and runs
    def _run_path(self, run_id: str) -> str:
        return f"/api/v2/dags/{_seg(self.dag_id)}/dagRuns/{_seg(run_id)}"

    def dag_tasks(self) -> list[str]:
        """The DAG's task ids in dependency order, ties by name (NotFoundError: not parsed yet)."""
        body = self._call("GET", f"/api/v2/dags/{_seg(self.dag_id)}/tasks")
        downstream = {str(t["task_id"]): [str(d) for d in t.get("downstream_task_ids") or []]
                      for t in body.get("tasks", [])}
        upstream_count = dict.fromkeys(downstream, 0)
        for targets in downstream.values():
            for target in targets:
                upstream_count[target] = upstream_count.get(target, 0) + 1
        ready = sorted(t for t, n in upstream_count.items() if n == 0)
        order: list[str] = []
        while ready:
            task = ready.pop(0)
            order.append(task)
            for target in downstream.get(task, []):
                upstream_count[target] -= 1
                if upstream_count[target] == 0:
                    ready = sorted([*ready, target])
        return order

    def import_errors(self) -> list[dict[str, str]]:
        """``[{filename, stack_trace}]`` of every DAG file that failed to import."""
        body = self._call("GET", "/api/v2/importErrors")
        return [
            {"filename": str(e.get("filename", "")), "stack_trace": str(e.get("stack_trace", ""))}
            for e in body.get("import_errors", [])
        ]

    def unpause(self) -> None:
        self._call("PATCH", f"/api/v2/dags/{_seg(self.dag_id)}", json={"is_paused": False})

    def trigger(self, conf: Mapping[str, Any], dag_run_id: str | None = None) -> DagRunInfo:
        """Start a run now with ``conf`` (NotFoundError when the DAG is not parsed yet)."""
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf)}
        if dag_run_id:
            body["dag_run_id"] = dag_run_id
        return dag_run_info(self._call("POST", f"/api/v2/dags/{_seg(self.dag_id)}/dagRuns", json=body))

    def dag_run(self, run_id: str) -> DagRunInfo:
        return dag_run_info(self._call("GET", self._run_path(run_id)))

    def recent_runs(self, limit: int = 10) -> list[DagRunInfo]:
        """The DAG's most recent runs, newest first (none when the DAG is not parsed yet)."""
        try:
            body = self._call(
                "GET", f"/api/v2/dags/{_seg(self.dag_id)}/dagRuns",
                params={"order_by": "-run_after", "limit": limit},
            )
        except NotFoundError:
            return []
        return [dag_run_info(r) for r in body.get("dag_runs", [])]

    def fail_run(self, run_id: str) -> None:
        """Mark the run failed: Airflow stops its running tasks and schedules no more."""
        self._call("PATCH", self._run_path(run_id), json={"state": "failed"})

    def task_instances(self, run_id: str) -> list[TaskInstanceInfo]:
        """The run's task instances in the DAG's dependency order."""
        body = self._call("GET", f"{self._run_path(run_id)}/taskInstances", params={"limit": 100})
        instances = [task_instance_info(t) for t in body.get("task_instances", [])]
        if self._order is None:
            try:
                self._order = self.dag_tasks()
            except LakehouseError as exc:  # the order is cosmetic: Airflow's own order then
                logger.debug("no task order: %s", exc)
                return instances
        rank = {task: i for i, task in enumerate(self._order)}
        return sorted(instances, key=lambda t: (rank.get(t.task_id, len(rank)), t.task_id))

    def task_log(self, run_id: str, task_id: str, try_number: int) -> list[str]:
        """The lines of one try's log (empty while the try has not logged anything)."""
        path = f"{self._run_path(run_id)}/taskInstances/{_seg(task_id)}/logs/{max(try_number, 1)}"
        try:
            body = self._call("GET", path, params={"full_content": "true"},
                              headers={"Accept": "application/json"})
        except NotFoundError:
            return []
        content = (body or {}).get("content", [])
        if isinstance(content, str):
            return content.splitlines()
        return [log_line(e) for e in content]

    def xcom(self, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (None when it pushed none)."""
        path = f"{self._run_path(run_id)}/taskInstances/{_seg(task_id)}/xcomEntries/{_seg(key)}"
        try:
            body = self._call("GET", path, params={"deserialize": "true", "stringify": "false"})
        except NotFoundError:
            return None
        return (body or {}).get("value")
