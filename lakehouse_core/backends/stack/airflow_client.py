"""Airflow 3's REST API v2 for what the project does with it: trigger a DAG run, follow its task
instances and their logs, fail a run, list runs. The calls go through ``apache-airflow-client`` (the
typed client of the API, versioned with the server); each has the client's timeout, and ``_call`` is
the one place where its errors become lakehouse errors (transport failures ServiceUnavailableError,
refusals mapped as ``_http`` maps every other client's). Token auth: ``POST /auth/token`` with the
configured user (simple auth manager), sent as ``Authorization: Bearer``; a 401 or 403 takes a new
token once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

import httpx
import urllib3
from airflow_client.client import ApiClient, Configuration
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.import_error_api import ImportErrorApi
from airflow_client.client.api.task_api import TaskApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.api.x_com_api import XComApi
from airflow_client.client.exceptions import ApiException, ForbiddenException, UnauthorizedException
from airflow_client.client.models import (
    DAGPatchBody,
    DagRunMutableStates,
    DAGRunPatchBody,
    DAGRunResponse,
    TaskInstanceResponse,
    TriggerDAGRunPostBody,
)
from pydantic import ValidationError

from lakehouse_core.backends.stack._http import HttpClient, raise_for_response
from lakehouse_core.errors import ConfigError, LakehouseError, NotFoundError, ServiceUnavailableError
from lakehouse_core.models import DagRunInfo, TaskInstanceInfo
from lakehouse_core.settings import AirflowSettings

logger = logging.getLogger(__name__)

SERVICE = "airflow"
TERMINAL_RUN_STATES = ("success", "failed")
FAILED_TASK_STATES = ("failed", "upstream_failed")

T = TypeVar("T")


def _text(value: Any, default: str = "") -> str:
    """An enum's value, a string as is, None as ``default``."""
    if value is None:
        return default
    return str(value.value if isinstance(value, Enum) else value)


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def dag_run_info(run: DAGRunResponse) -> DagRunInfo:
    """A DagRunInfo from a DAGRunResponse."""
    return DagRunInfo(
        dag_id=run.dag_id,
        run_id=run.dag_run_id,
        state=_text(run.state, "queued"),
        run_type=_text(run.run_type),
        started_at=run.start_date,
        finished_at=run.end_date,
        duration_s=_seconds(run.duration),
        conf=dict(run.conf or {}),
    )


def task_instance_info(ti: TaskInstanceResponse) -> TaskInstanceInfo:
    """A TaskInstanceInfo from a TaskInstanceResponse."""
    return TaskInstanceInfo(
        task_id=ti.task_id,
        state=_text(ti.state, "none"),
        try_number=int(ti.try_number or 0),
        started_at=ti.start_date,
        finished_at=ti.end_date,
        duration_s=_seconds(ti.duration),
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


def describe_urllib3_error(exc: urllib3.exceptions.HTTPError) -> str:
    """A one-line human cause for a transport failure (``connection refused``, ``timed out``...)."""
    cause: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        cause = exc.reason
    if isinstance(cause, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError subclass
        text = str(cause)
        return "connection refused" if "refused" in text.lower() else text
    if isinstance(cause, urllib3.exceptions.TimeoutError):
        return f"timed out ({type(cause).__name__})"
    return str(cause) or type(cause).__name__


def api_error(exc: ApiException) -> LakehouseError:
    """The lakehouse error of an answer the API refused (the mapping ``_http`` applies to httpx's)."""
    if not exc.status:  # the client's own failure before any answer (TLS, an unencodable request)
        return ServiceUnavailableError(SERVICE, str(exc.reason or exc).strip())
    body = exc.body if isinstance(exc.body, str | bytes) else ""
    response = httpx.Response(int(exc.status), content=body.encode() if isinstance(body, str) else body)
    try:
        raise_for_response(SERVICE, response)
    except LakehouseError as mapped:
        return mapped
    return LakehouseError(f"{SERVICE}: HTTP {exc.status}: {exc.reason}", title=f"{SERVICE} error")


class AirflowClient:
    """The REST calls of one Airflow; nothing is sent until a method is called. Also the stack's
    DagRunBrowser (``recent_runs``, ``task_instances``, ``task_log``)."""

    def __init__(self, settings: AirflowSettings, *, timeout_s: float) -> None:
        if not settings.url:
            raise ConfigError("airflow is not configured: set LAKEHOUSE_AIRFLOW__URL (e.g. http://127.0.0.1:8085)")
        self.settings = settings
        self.dag_id = settings.dag_id
        self._timeout_s = timeout_s
        # /auth/token belongs to the auth manager, not to the API the typed client describes: httpx
        self._auth = HttpClient(SERVICE, settings.url, timeout_s=timeout_s)
        # retries=0: a refused connection or a timeout is reported at once (the runner has its grace)
        self._config = Configuration(host=settings.url.rstrip("/"), retries=0)
        self._api = ApiClient(self._config)
        self._dags = DAGApi(self._api)
        self._runs = DagRunApi(self._api)
        self._tasks = TaskApi(self._api)
        self._instances = TaskInstanceApi(self._api)
        self._xcoms = XComApi(self._api)
        self._import_errors = ImportErrorApi(self._api)
        self._token: str | None = None
        self._order: list[str] | None = None

    # ------------------------------------------------------------ transport
    def _login(self) -> str:
        body = self._auth.post_json(
            "/auth/token",
            {"username": self.settings.user, "password": self.settings.password.get_secret_value()},
        )
        token = (body or {}).get("access_token")
        if not token:
            raise LakehouseError("airflow: /auth/token returned no access_token", title="airflow error")
        return str(token)

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``method`` of the typed client with the timeout and a token; its errors mapped."""
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._login()
            self._config.access_token = self._token
            try:
                result = method(*args, _request_timeout=self._timeout_s, **kwargs)
                if isinstance(result, urllib3.BaseHTTPResponse) and result.status >= 300:
                    # a ``*_without_preload_content`` call: the typed client left the status to us
                    body = result.data.decode("utf-8", errors="replace")
                    ApiException.from_response(http_resp=result, body=body, data=None)  # raises
                return result
            except (UnauthorizedException, ForbiddenException) as exc:
                if attempt == 1:
                    # expired (401) or signed with another api-server secret (403 "Invalid JWT
                    # token"): log in again, once
                    self._token = None
                    continue
                raise api_error(exc) from exc
            except ApiException as exc:
                raise api_error(exc) from exc
            except urllib3.exceptions.HTTPError as exc:
                raise ServiceUnavailableError(SERVICE, describe_urllib3_error(exc)) from exc
            except ValidationError as exc:  # an answer that does not fit the client's model
                raise LakehouseError(f"airflow: unexpected answer: {exc}", title="airflow error") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._auth.close()
        self._api.rest_client.pool_manager.clear()

    # ------------------------------------------------------------ DAGs and runs
    def dag_tasks(self) -> list[str]:
        """The DAG's task ids in dependency order, ties by name (NotFoundError: not parsed yet)."""
        body = self._call(self._tasks.get_tasks, self.dag_id)
        downstream = {str(t.task_id): [str(d) for d in t.downstream_task_ids or []] for t in body.tasks}
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
        body = self._call(self._import_errors.get_import_errors)
        return [
            {"filename": str(e.filename or ""), "stack_trace": str(e.stack_trace or "")}
            for e in body.import_errors
        ]

    def unpause(self) -> None:
        self._call(self._dags.patch_dag, self.dag_id, DAGPatchBody(is_paused=False))

    def trigger(self, conf: Mapping[str, Any], dag_run_id: str | None = None) -> DagRunInfo:
        """Start a run now with ``conf`` (NotFoundError when the DAG is not parsed yet)."""
        body = TriggerDAGRunPostBody(logical_date=None, conf=dict(conf), dag_run_id=dag_run_id or None)
        return dag_run_info(self._call(self._runs.trigger_dag_run, self.dag_id, body))

    def dag_run(self, run_id: str) -> DagRunInfo:
        return dag_run_info(self._call(self._runs.get_dag_run, self.dag_id, run_id))

    def recent_runs(self, limit: int = 10) -> list[DagRunInfo]:
        """The DAG's most recent runs, newest first (none when the DAG is not parsed yet)."""
        try:
            body = self._call(self._runs.get_dag_runs, self.dag_id, order_by=["-run_after"], limit=limit)
        except NotFoundError:
            return []
        return [dag_run_info(r) for r in body.dag_runs]

    def fail_run(self, run_id: str) -> None:
        """Mark the run failed: Airflow stops its running tasks and schedules no more."""
        patch = DAGRunPatchBody(state=DagRunMutableStates.FAILED)
        self._call(self._runs.patch_dag_run, self.dag_id, run_id, patch)

    def task_instances(self, run_id: str) -> list[TaskInstanceInfo]:
        """The run's task instances in the DAG's dependency order."""
        body = self._call(self._instances.get_task_instances, self.dag_id, run_id, limit=100)
        instances = [task_instance_info(t) for t in body.task_instances]
        if self._order is None:
            try:
                self._order = self.dag_tasks()
            except LakehouseError as exc:  # the order is cosmetic: Airflow's own order then
                logger.debug("no task order: %s", exc)
                return instances
        rank = {task: i for i, task in enumerate(self._order)}
        return sorted(instances, key=lambda t: (rank.get(t.task_id, len(rank)), t.task_id))

    def task_log(self, run_id: str, task_id: str, try_number: int) -> list[str]:
        """The lines of one try's log (empty while the try has not logged anything).

        The raw answer is read: the typed model of a log event (StructuredLogMessage) keeps only
        ``event`` and ``timestamp``, and the level and ``error_detail`` of an error line are needed."""
        try:
            response = self._call(
                self._instances.get_log_without_preload_content, self.dag_id, run_id, task_id,
                max(try_number, 1), full_content=True, accept="application/json",
            )
        except NotFoundError:
            return []
        try:
            content = json.loads(response.data or b"{}").get("content")
        except (ValueError, AttributeError) as exc:
            raise LakehouseError(f"airflow: unexpected log answer: {exc}", title="airflow error") from exc
        if isinstance(content, str):
            return content.splitlines()
        return [log_line(e) for e in content or []]

    def xcom(self, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value (None when it pushed none)."""
        try:
            entry = self._call(
                self._xcoms.get_xcom_entry, self.dag_id, task_id, run_id, key,
                deserialize=True, stringify=False,
            )
        except NotFoundError:
            return None
        return getattr(entry.actual_instance, "value", None)  # XComResponseNative (deserialize=True)
