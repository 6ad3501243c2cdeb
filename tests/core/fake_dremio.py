"""A FAKE Dremio REST server for tests (stdlib http.server in a thread, 127.0.0.1, port 0).

It is a fake, written from Dremio's documented REST API, because Dremio itself cannot be had here:
it is not on Maven Central, PyPI or apt, and building it needs Dremio's own Maven repositories.
It reproduces the documented request and response shapes below and nothing more:

- ``POST /apiv2/login`` {"userName","password"} -> {"token", "userName", "expires", ...}; 401 otherwise.
- ``PUT /apiv2/bootstrap/firstuser`` creates the first user; 400 once a user exists.
- Every ``/api/v3`` call needs ``Authorization: _dremio<token>`` (or ``Bearer <token>``), else 401
  with ``{"errorMessage", "moreInfo"}``.
- ``POST /api/v3/sql`` -> ``{"id"}``; ``GET /api/v3/job/{id}`` reports ``RUNNING`` for
  ``polls_until_done`` polls, then ``COMPLETED`` (or ``FAILED`` with the engine's errorMessage).
  With ``polls_until_done=None`` a job stays RUNNING until cancelled.
- ``GET /api/v3/job/{id}/results?offset=&limit=``: limit defaults to 100, more than 500 -> 400
  ("limit can not exceed 500 rows"), a job that is not COMPLETED -> 400.
- ``POST /api/v3/job/{id}/cancel`` -> 204 and the job becomes CANCELED.
- ``GET/POST /api/v3/catalog`` and ``GET /api/v3/catalog/by-path/...`` (404 when absent, 409 for a
  source name that exists).

SQL really runs, on an in-memory DuckDB holding a small dataset (``bronze.orders`` with ``orders``
rows, ``bronze.customers``, ``gold.daily_sales``). Dremio's time-travel clauses (``AT SNAPSHOT`` ...)
are recorded in ``requests`` and stripped before DuckDB runs the query: the fake has no versions.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb

_AT_CLAUSE = re.compile(r"\s+AT\s+(?:SNAPSHOT|TIMESTAMP|BRANCH|TAG|REF(?:ERENCE)?|COMMIT)\s+('[^']*'|\S+)",
                        re.IGNORECASE)
_SYSTEM_SCHEMAS = {"main", "information_schema", "pg_catalog"}


@dataclass
class FakeJob:
    id: str
    sql: str
    state: str = "RUNNING"
    polls_left: int | None = 0
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    cancellation_reason: str = ""


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


def _dremio_type(duck_type: str) -> str:
    base = duck_type.split("(")[0].upper()
    return {"HUGEINT": "BIGINT", "REAL": "FLOAT", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP"}.get(base, base)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class FakeDremio:
    """The fake server; use as a context manager. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        *,
        orders: int = 1_234,
        users: dict[str, str] | None = None,
        polls_until_done: int | None = 2,
    ) -> None:
        self.users: dict[str, str] = {"dremio": "dremio123"} if users is None else dict(users)
        self.polls_until_done = polls_until_done
        self.tokens: set[str] = set()
        self.jobs: dict[str, FakeJob] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.logins = 0
        self._lock = threading.Lock()
        self._db = duckdb.connect(":memory:")
        self._db_lock = threading.Lock()
        self._load_dataset(orders)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-dremio", daemon=True
        )

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDremio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._db.close()

    def __enter__(self) -> FakeDremio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_tokens(self) -> None:
        """Forget every issued token (as after the 30 h lifetime): next calls get 401."""
        with self._lock:
            self.tokens.clear()

    def calls(self, method: str, prefix: str) -> list[Recorded]:
        """Recorded requests of one method whose path starts with ``prefix``."""
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    # ------------------------------------------------------------ data
    def _load_dataset(self, orders: int) -> None:
        db = self._db
        db.execute("CREATE SCHEMA bronze; CREATE SCHEMA gold")
        db.execute(
            """CREATE TABLE bronze.customers AS
               SELECT i AS customer_id, 'customer ' || i AS name,
                      CASE i % 3 WHEN 0 THEN 'Premium' WHEN 1 THEN 'Standard' ELSE 'Basic' END AS segment
               FROM range(1, 11) t(i)"""
        )
        db.execute(
            f"""CREATE TABLE bronze.orders AS
                SELECT i AS order_id, (i % 10) + 1 AS customer_id,
                       CAST(round(10 + (i % 97) * 1.5, 2) AS DECIMAL(10, 2)) AS total_amount,
                       CASE i % 3 WHEN 0 THEN 'completed' WHEN 1 THEN 'pending'
                                  ELSE 'cancelled' END AS status,
                       DATE '2024-01-01' + CAST(i % 60 AS INTEGER) AS order_date
                FROM range(1, {int(orders) + 1}) t(i)"""
        )
        db.execute(
            """CREATE TABLE gold.daily_sales AS
               SELECT order_date AS date, count(*) AS num_orders, sum(total_amount) AS total_revenue
               FROM bronze.orders GROUP BY order_date"""
        )

    def _run_sql(self, sql: str) -> tuple[list[tuple[str, str]], list[dict[str, Any]], str]:
        clean = _AT_CLAUSE.sub("", sql)
        with self._db_lock:
            try:
                cur = self._db.cursor()
                cur.execute(clean)
                desc = cur.description or []
                raw = cur.fetchall() if desc else []
            except duckdb.Error as exc:
                return [], [], str(exc)
        columns = [(str(d[0]), _dremio_type(str(d[1]))) for d in desc]
        rows = [{name: _json_value(v) for (name, _), v in zip(columns, row, strict=True)} for row in raw]
        return columns, rows, ""

    # ------------------------------------------------------------ HTTP
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return None

            def _send(self, status: int, body: Any = None, text: str | None = None) -> None:
                payload = b"" if body is None and text is None else (
                    text.encode() if text is not None else json.dumps(body).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if text is not None else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            def _error(self, status: int, message: str) -> None:
                self._send(status, {"errorMessage": message, "moreInfo": ""})

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._error(400, "malformed JSON body")
                    return
                auth = self.headers.get("Authorization")
                with fake._lock:
                    fake.requests.append(Recorded(method, parts.path, query, body, auth))
                try:
                    fake._route(self, method, parts.path, query, body, auth)
                except Exception as exc:  # noqa: BLE001 - a fake answers 500 like a server would
                    self._error(500, f"fake dremio error: {exc}")

            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

        return Handler

    def _authorized(self, auth: str | None) -> bool:
        if not auth:
            return False
        token = auth.removeprefix("_dremio").removeprefix("Bearer ").strip()
        with self._lock:
            return token in self.tokens

    def _route(
        self, h: Any, method: str, path: str, query: dict[str, str], body: Any, auth: str | None
    ) -> None:
        if path == "/apiv2/server_status" and method == "GET":
            h._send(200, text="OK")
            return
        if path == "/apiv2/login" and method == "POST":
            self._login(h, body or {})
            return
        if path == "/apiv2/bootstrap/firstuser" and method == "PUT":
            self._bootstrap(h, body or {})
            return
        if not path.startswith("/api/v3/"):
            h._error(404, f"no resource at {path}")
            return
        if not self._authorized(auth):
            h._error(401, "Unauthorized: missing or invalid token")
            return
        if path == "/api/v3/sql" and method == "POST":
            self._submit(h, body or {})
            return
        match = re.fullmatch(r"/api/v3/job/([^/]+)(/results|/cancel)?", path)
        if match:
            self._job_route(h, method, match.group(1), match.group(2) or "", query)
            return
        if path == "/api/v3/catalog":
            if method == "GET":
                h._send(200, {"data": self._top_level()})
            elif method == "POST":
                self._create_source(h, body or {})
            else:
                h._error(405, "method not allowed")
            return
        if path.startswith("/api/v3/catalog/by-path/") and method == "GET":
            segments = [unquote(p) for p in path.removeprefix("/api/v3/catalog/by-path/").split("/") if p]
            entity = self._by_path(segments)
            if entity is None:
                h._error(404, f"Could not find entity with path [{', '.join(segments)}]")
            else:
                h._send(200, entity)
            return
        h._error(404, f"no resource at {path}")

    # ------------------------------------------------------------ auth
    def _login(self, h: Any, body: dict[str, Any]) -> None:
        user, password = body.get("userName"), body.get("password")
        if not user or self.users.get(user) != password:
            h._error(401, "Login failed: invalid username or password")
            return
        token = uuid.uuid4().hex[:26]
        with self._lock:
            self.tokens.add(token)
            self.logins += 1
        h._send(200, {"token": token, "userName": user, "firstName": "Dre", "lastName": "Mio",
                      "expires": 4102444800000, "email": f"{user}@example.com", "userId": str(uuid.uuid4()),
                      "admin": True, "clusterId": "fake-cluster", "clusterCreatedAt": 0,
                      "version": "fake-26.0.0", "permissions": {}, "userCreatedAt": 0})

    def _bootstrap(self, h: Any, body: dict[str, Any]) -> None:
        with self._lock:
            if self.users:
                h._error(400, "First user can only be created when no user is already registered")
                return
            if not body.get("userName") or not body.get("password"):
                h._error(400, "userName and password are required")
                return
            self.users[body["userName"]] = body["password"]
        h._send(200, {"userName": body["userName"], "firstName": body.get("firstName"),
                      "lastName": body.get("lastName"), "email": body.get("email")})

    # ------------------------------------------------------------ jobs
    def _submit(self, h: Any, body: dict[str, Any]) -> None:
        sql = body.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            h._error(400, "sql is required")
            return
        job = FakeJob(id=str(uuid.uuid4()), sql=sql, polls_left=self.polls_until_done)
        job.columns, job.rows, job.error = self._run_sql(sql)
        with self._lock:
            self.jobs[job.id] = job
        h._send(200, {"id": job.id})

    def _advance(self, job: FakeJob) -> None:
        if job.state != "RUNNING" or job.polls_left is None:
            return
        if job.polls_left > 0:
            job.polls_left -= 1
            return
        job.state = "FAILED" if job.error else "COMPLETED"

    def _job_route(self, h: Any, method: str, job_id: str, tail: str, query: dict[str, str]) -> None:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            h._error(404, f"Job {job_id} not found")
            return
        if tail == "" and method == "GET":
            with self._lock:
                self._advance(job)
                done = job.state == "COMPLETED"
                h._send(200, {"jobState": job.state, "rowCount": len(job.rows) if done else 0,
                              "errorMessage": job.error if job.state == "FAILED" else "",
                              "startedAt": "2026-11-26T00:00:00.000Z", "queryType": "REST",
                              "queueName": "SMALL", "cancellationReason": job.cancellation_reason})
            return
        if tail == "/cancel" and method == "POST":
            with self._lock:
                if job.state in ("COMPLETED", "FAILED", "CANCELED"):
                    h._error(400, f"Job {job_id} may have completed and cannot be canceled.")
                    return
                job.state = "CANCELED"
                job.cancellation_reason = "Query cancelled by user"
            h._send(204)
            return
        if tail == "/results" and method == "GET":
            try:
                offset = int(query.get("offset", "0"))
                limit = int(query.get("limit", "100"))
            except ValueError:
                h._error(400, "offset and limit must be integers")
                return
            if limit > 500:
                h._error(400, "limit can not exceed 500 rows")
                return
            if job.state != "COMPLETED":
                h._error(400, f"Can not fetch details for a job that is in [{job.state}] state.")
                return
            h._send(200, {"rowCount": len(job.rows),
                          "schema": [{"name": n, "type": {"name": t}} for n, t in job.columns],
                          "rows": job.rows[offset: offset + limit]})
            return
        h._error(405, "method not allowed")

    # ------------------------------------------------------------ catalog
    def _top_level(self) -> list[dict[str, Any]]:
        items = [{"id": "home-dremio", "path": ["@dremio"], "tag": "0", "type": "CONTAINER",
                  "containerType": "HOME"}]
        with self._lock:
            for name, src in self.sources.items():
                items.append({"id": src["id"], "path": [name], "tag": src["tag"], "type": "CONTAINER",
                              "containerType": "SOURCE", "createdAt": src["createdAt"]})
        return items

    def _create_source(self, h: Any, body: dict[str, Any]) -> None:
        name = body.get("name")
        if body.get("entityType") != "source" or not name or not body.get("type"):
            h._error(400, "entityType 'source', name and type are required")
            return
        with self._lock:
            if name in self.sources:
                h._error(409, f"A source with the name [{name}] already exists.")
                return
            entity = dict(body, id=str(uuid.uuid4()), tag=uuid.uuid4().hex[:12],
                          createdAt="2026-11-26T00:00:00.000Z")
            self.sources[name] = entity
        h._send(200, entity)

    def _schemas(self) -> list[str]:
        with self._db_lock:
            rows = self._db.execute("SELECT DISTINCT schema_name FROM information_schema.schemata").fetchall()
        return sorted(r[0] for r in rows if r[0] not in _SYSTEM_SCHEMAS)

    def _tables(self, schema: str) -> list[str]:
        with self._db_lock:
            rows = self._db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
            ).fetchall()
        return sorted(r[0] for r in rows)

    def _by_path(self, segments: list[str]) -> dict[str, Any] | None:
        if not segments:
            return None
        with self._lock:
            source = self.sources.get(segments[0])
        if source is None:
            return None
        if len(segments) == 1:
            children = [{"id": f"{segments[0]}.{s}", "path": [segments[0], s], "type": "CONTAINER",
                         "containerType": "FOLDER"} for s in self._schemas()]
            return dict(source, children=children)
        schema = segments[1]
        if schema not in self._schemas():
            return None
        if len(segments) == 2:
            children = [{"id": f"{segments[0]}.{schema}.{t}", "path": [segments[0], schema, t],
                         "type": "DATASET", "datasetType": "PROMOTED"} for t in self._tables(schema)]
            return {"entityType": "folder", "id": f"{segments[0]}.{schema}", "path": segments,
                    "children": children}
        if len(segments) == 3 and segments[2] in self._tables(schema):
            return {"entityType": "dataset", "type": "PHYSICAL_DATASET", "id": ".".join(segments),
                    "path": segments}
        return None
