"""Dremio as the stack's SQL engine, over its documented REST API (``/apiv2``, ``/api/v3``).

Login ``POST /apiv2/login`` -> token sent as ``Authorization: _dremio<token>`` (re-login on 401),
submit ``POST /api/v3/sql``, poll ``GET /api/v3/job/{id}``, page ``GET /api/v3/job/{id}/results``
(at most 500 rows per call), cancel ``POST /api/v3/job/{id}/cancel``. Tables are addressed as
``namespace.table`` inside the Nessie source (sent as the query ``context``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from sqlglot import exp
from sqlglot.tokens import TokenType

from lakehouse_core.backends.stack._http import HttpClient
from lakehouse_core.backends.stack.dremio_arrow import arrow_table, type_name
from lakehouse_core.errors import CancelledError, LakehouseError, NotFoundError, QueryError
from lakehouse_core.models import AsOf, QueryResult
from lakehouse_core.ports import FirstPageCallback
from lakehouse_core.settings import DremioSettings
from lakehouse_core.sqlparse import READ_ONLY_MESSAGE, refused_kind, replace_spans, table_refs, tokenize

logger = logging.getLogger(__name__)

ENGINE = "dremio"
PAGE_LIMIT = 500  # Dremio rejects results pages above 500 rows
NESSIE_SOURCE = "nessie"


class _DremioAuth(httpx.Auth):
    """Adds ``Authorization: _dremio<token>``; on a 401 logs in again once and retries."""

    requires_response_body = True

    def __init__(self, engine: DremioSqlEngine) -> None:
        self._engine = engine

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._engine.token or self._engine.login()
        request.headers["Authorization"] = f"_dremio{token}"
        response = yield request
        if response.status_code == 401:
            logger.info("dremio answered 401: logging in again")
            request.headers["Authorization"] = f"_dremio{self._engine.login(stale=token)}"
            yield request


@dataclass(frozen=True)
class DremioCatalogEntry:
    """One entry of Dremio's catalog (source, space, folder, dataset...)."""

    id: str
    path: tuple[str, ...]
    type: str
    container_type: str | None = None
    dataset_type: str | None = None

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else ""


DIALECT = "dremio"  # sqlglot's name of the SQL dialect


def _dremio_timestamp(ts: datetime) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"


def apply_as_of(sql: str, as_of: AsOf | None) -> str:
    """Add ``AT SNAPSHOT '<id>'`` / ``AT TIMESTAMP '<ts>'`` after every table of FROM/JOIN.

    The tables come from sqlglot's syntax tree (Dremio dialect): CTE names, table functions and
    tables with their own time-travel clause are left alone, and so is every literal and comment;
    the rest of the text is sent as written. A ref (branch/tag) is not written into the SQL: it goes
    into the submit body's ``references``.

    Raises:
        QueryError: sqlglot cannot parse a statement that has a FROM or JOIN, so the as-of cannot
            be applied to it.
    """
    if as_of is None:
        return sql
    if as_of.snapshot_id is not None:
        kind, value = "VERSION", str(as_of.snapshot_id)
    elif as_of.timestamp is not None:
        kind, value = "TIMESTAMP", _dremio_timestamp(as_of.timestamp)
    else:
        return sql
    refs = table_refs(sql, DIALECT)
    if refs is None:
        if not any(t.token_type in (TokenType.FROM, TokenType.JOIN) for t in tokenize(sql, DIALECT)):
            return sql  # SHOW TABLES...: no table to time-travel
        raise QueryError("cannot apply the as-of: the statement could not be parsed", ENGINE)
    version = exp.Version(this=kind, kind="AS OF", expression=exp.Literal.string(value))
    clause = " " + version.sql(dialect=DIALECT)
    return replace_spans(sql, ((r.end, r.end, clause) for r in refs if r.in_from and not r.time_travel))


def _reference(ref: str) -> dict[str, str]:
    kind = "COMMIT" if re.fullmatch(r"[0-9a-fA-F]{16,64}", ref) else "BRANCH"
    return {"type": kind, "value": ref}


class DremioSqlEngine:
    """ports.SqlEngine over Dremio's REST API (engine name ``dremio``)."""

    name = ENGINE
    supports_cancel = True

    def __init__(
        self,
        dremio: DremioSettings,
        *,
        timeout_s: float,
        query_timeout_s: float,
        fetch_limit: int,
        source: str = NESSIE_SOURCE,
        poll_initial_s: float = 0.05,
        poll_max_s: float = 1.0,
        page_size: int = PAGE_LIMIT,
    ) -> None:
        self.dremio = dremio
        self.query_timeout_s = query_timeout_s
        self.fetch_limit = fetch_limit
        self.source = source
        self.poll_initial_s = poll_initial_s
        self.poll_max_s = poll_max_s
        self.page_size = max(1, min(PAGE_LIMIT, page_size))
        self._http = HttpClient(ENGINE, dremio.base_url, timeout_s=timeout_s)
        self._auth = _DremioAuth(self)
        self._login_lock = threading.Lock()
        self._job_lock = threading.Lock()
        self.token: str | None = None
        self._job_id: str | None = None
        self._cancel_requested = False

    # ------------------------------------------------------------ auth
    def login(self, stale: str | None = None) -> str:
        """POST /apiv2/login; returns the token. ``stale``: only log in if the token is still that one."""
        with self._login_lock:
            if stale is not None and self.token not in (None, stale):
                return self.token  # another thread already refreshed it
            creds = self.dremio
            body = {"userName": creds.user, "password": creds.password.get_secret_value()}
            data = self._http.post_json("/apiv2/login", body)
            token = (data or {}).get("token")
            if not token:
                raise LakehouseError("dremio: login answered without a token", title="Dremio login failed")
            self.token = str(token)
            return self.token

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._http.request(method, path, auth=self._auth, **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return response.json() if response.content else None

    # ------------------------------------------------------------ SQL
    def submit(self, sql: str, *, as_of: AsOf | None = None) -> str:
        """POST /api/v3/sql; returns the job id. Only reads are sent.

        Raises:
            QueryError: "read-only: CREATE statements are not allowed" (nothing is sent), or
                Dremio's answer to a rejected query.
        """
        # Classified with sqlglot's Dremio dialect: DuckDB's parser cannot read Dremio's
        # AT SNAPSHOT / AT BRANCH clauses.
        kind = refused_kind(sql, DIALECT)
        if kind is not None:
            raise QueryError(READ_ONLY_MESSAGE.format(kind=kind), engine=ENGINE)
        body: dict[str, Any] = {"sql": apply_as_of(sql, as_of), "context": [self.source]}
        if as_of is not None and as_of.ref and as_of.snapshot_id is None and as_of.timestamp is None:
            body["references"] = {self.source: _reference(as_of.ref)}
        try:
            data = self._json("POST", "/api/v3/sql", json=body)
        except LakehouseError as exc:
            if "HTTP 400" in exc.message:
                raise QueryError(exc.message.removeprefix("dremio: HTTP 400: "), engine=ENGINE) from exc
            raise
        job_id = (data or {}).get("id")
        if not job_id:
            raise LakehouseError("dremio: submit answered without a job id", title="Dremio error")
        return str(job_id)

    def job(self, job_id: str) -> dict[str, Any]:
        """GET /api/v3/job/{id}."""
        return dict(self._json("GET", f"/api/v3/job/{quote(job_id)}") or {})

    def wait(self, job_id: str, *, timeout_s: float | None = None) -> dict[str, Any]:
        """Poll the job with exponential backoff until a final state (bounded by the query timeout).

        Raises:
            QueryError: the job FAILED (Dremio's errorMessage) or did not finish in time (job cancelled).
            CancelledError: the job was CANCELED.
        """
        limit = self.query_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        interval = self.poll_initial_s
        while True:
            info = self.job(job_id)
            state = info.get("jobState", "")
            if state == "COMPLETED":
                return info
            if state == "FAILED":
                raise QueryError(info.get("errorMessage") or "query failed", engine=ENGINE)
            if state == "CANCELED":
                reason = info.get("cancellationReason") or "cancelled"
                raise CancelledError(f"dremio job {job_id} cancelled: {reason}")
            if time.monotonic() >= deadline:
                self._cancel_job(job_id)
                raise QueryError(f"query did not finish within {limit:g}s (job {job_id} cancelled)", ENGINE)
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(self.poll_max_s, interval * 2)

    def results_page(self, job_id: str, offset: int, limit: int) -> dict[str, Any]:
        """GET /api/v3/job/{id}/results (``limit`` is capped at 500)."""
        limit = max(1, min(PAGE_LIMIT, limit))
        params = {"offset": offset, "limit": limit}
        return dict(self._json("GET", f"/api/v3/job/{quote(job_id)}/results", params=params) or {})

    def execute(
        self,
        sql: str,
        *,
        limit: int | None = None,
        as_of: AsOf | None = None,
        on_first_page: FirstPageCallback | None = None,
    ) -> QueryResult:
        """Run one statement and fetch up to ``limit`` rows (default: ``fetch_limit``), page by
        page; ``on_first_page`` gets the first results page when more pages follow."""
        started = time.perf_counter()
        want = self.fetch_limit if limit is None else max(0, limit)
        with self._job_lock:
            self._cancel_requested = False
        job_id = self.submit(sql, as_of=as_of)
        with self._job_lock:
            self._job_id = job_id
            cancel_now = self._cancel_requested
        try:
            if cancel_now:
                self._cancel_job(job_id)
            info = self.wait(job_id)
            total = int(info.get("rowCount") or 0)

            def result(schema: list[dict[str, Any]], rows: list[dict[str, Any]]) -> QueryResult:
                return QueryResult(
                    columns=tuple(str(field.get("name")) for field in schema),
                    types=tuple(type_name(field) for field in schema),
                    table=arrow_table(schema, rows),
                    engine=ENGINE,
                    elapsed_s=time.perf_counter() - started,
                    truncated=total > len(rows),
                    total_rows=total,
                    sql=sql,
                    as_of=as_of,
                )

            first_page = None
            if on_first_page is not None:
                callback = on_first_page

                def first_page(schema: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
                    callback(result(schema, rows))

            schema, rows = self._fetch(job_id, min(want, total), first_page)
            if self._cancel_requested:
                raise CancelledError(f"dremio job {job_id} cancelled")
        finally:
            with self._job_lock:
                self._job_id = None
        return result(schema, rows)

    def _fetch(
        self,
        job_id: str,
        want: int,
        first_page: Callable[[list[dict[str, Any]], list[dict[str, Any]]], None] | None = None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The schema and the first ``want`` rows (JSON objects) of a finished job, page by page."""
        schema: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        offset = 0
        max_pages = want // self.page_size + 2  # bounded loop
        for _ in range(max_pages):
            page = self.results_page(job_id, offset, min(self.page_size, max(1, want - offset)))
            schema = schema or list(page.get("schema") or [])
            page_rows = page.get("rows") or []
            rows.extend(page_rows[: max(0, want - offset)])
            offset += len(page_rows)
            if offset >= want or not page_rows or self._cancel_requested:
                break
            if first_page is not None and offset == len(page_rows):  # the first page, more follow
                first_page(schema, rows[:])
        return schema, rows[:want]

    def _cancel_job(self, job_id: str) -> None:
        try:
            self._request("POST", f"/api/v3/job/{quote(job_id)}/cancel")
        except LakehouseError as exc:  # the job may have finished meanwhile
            logger.info("dremio cancel of %s: %s", job_id, exc)

    def cancel(self) -> None:
        """Cancel the running job (no-op when nothing runs)."""
        with self._job_lock:
            self._cancel_requested = True
            job_id = self._job_id
        if job_id:
            self._cancel_job(job_id)

    # ------------------------------------------------------------ catalog
    def list_catalog(self, path: Sequence[str] = ()) -> list[DremioCatalogEntry]:
        """Top-level containers (no path) or the children of the entity at ``path``."""
        if not path:
            data = self._json("GET", "/api/v3/catalog") or {}
            items = data.get("data") or []
        else:
            items = self.catalog_entity(path).get("children") or []
        return [_entry(item) for item in items]

    def catalog_entity(self, path: Sequence[str]) -> dict[str, Any]:
        """GET /api/v3/catalog/by-path/{path}. Raises NotFoundError when absent."""
        segments = "/".join(quote(p, safe="") for p in path)
        return dict(self._json("GET", f"/api/v3/catalog/by-path/{segments}") or {})

    def create_source(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/v3/catalog with a source entity."""
        return dict(self._json("POST", "/api/v3/catalog", json=body) or {})

    def close(self) -> None:
        self._http.close()


def _entry(item: dict[str, Any]) -> DremioCatalogEntry:
    return DremioCatalogEntry(
        id=str(item.get("id", "")),
        path=tuple(item.get("path") or ()),
        type=str(item.get("type", "")),
        container_type=item.get("containerType"),
        dataset_type=item.get("datasetType"),
    )


def dremio_reachable(dremio: DremioSettings, timeout_s: float) -> bool:
    """True when Dremio answers on its REST port (GET /apiv2/server_status, or GET / if absent)."""
    http = HttpClient(ENGINE, dremio.base_url, timeout_s=timeout_s)
    try:
        try:
            http.request("GET", "/apiv2/server_status")
        except NotFoundError:
            http.request("GET", "/")
        return True
    except LakehouseError as exc:
        logger.info("dremio not reachable: %s", exc)
        return False
    finally:
        http.close()
