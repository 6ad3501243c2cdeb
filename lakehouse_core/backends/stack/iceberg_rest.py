"""pyiceberg RestCatalog on Nessie's Iceberg REST endpoint, with timeouts and one error-mapping place.

``{nessie.url}/iceberg`` serves the default branch, ``{nessie.url}/iceberg/<ref>`` another branch.
The client ``prefix`` is never set (it does not work for pyiceberg with Nessie). S3 credentials come
from ``settings.minio``; the server is expected to run with request signing disabled, so the client
talks to MinIO directly with path-style requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.exceptions import ServiceUnavailableError as IcebergUnavailable
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot, SnapshotLogEntry
from pyiceberg.typedef import Identifier
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from lakehouse_core.errors import (
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    unavailable_error,
)
from lakehouse_core.runmeta import RunCommit
from lakehouse_core.settings import LakehouseSettings

if TYPE_CHECKING:
    from lakehouse_core.backends.stack.nessie import NessieClient

logger = logging.getLogger(__name__)

def _max_field_id(node: Any) -> int:
    """Highest field id in an Iceberg schema JSON (nested types included)."""
    best = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("id", "element-id", "key-id", "value-id") and isinstance(value, int):
                best = max(best, value)
            else:
                best = max(best, _max_field_id(value))
    elif isinstance(node, list):
        best = max((_max_field_id(v) for v in node), default=0)
    return best


def add_last_column_id(body: bytes) -> bytes | None:
    """Add ``last-column-id`` to ``add-schema`` updates that lack it (None when nothing changes).

    pyiceberg 0.12 no longer sends it (deprecated in the REST spec) but Nessie 0.99 requires it:
    "Cannot build AddSchema, some of required attributes are not set [lastColumnId]".
    """
    if b'"add-schema"' not in body:
        return None
    payload = json.loads(body)
    changed = False
    for update in payload.get("updates") or ():
        if update.get("action") == "add-schema" and "last-column-id" not in update:
            update["last-column-id"] = _max_field_id(update.get("schema"))
            changed = True
    return json.dumps(payload).encode() if changed else None


class _TimeoutAdapter(HTTPAdapter):
    """Give every request a default timeout; patch add-schema commits for Nessie (see above)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def send(  # noqa: D102
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        if request.method == "POST" and isinstance(request.body, bytes):
            patched = add_last_column_id(request.body)
            if patched is not None:
                request.body = patched
                request.headers["Content-Length"] = str(len(patched))
        return super().send(
            request, stream=stream, timeout=self._timeout_s if timeout is None else timeout,
            verify=verify, cert=cert, proxies=proxies,
        )


MESSAGE_HEADER = "Nessie-Commit-Message"
AUTHORS_HEADER = "Nessie-Commit-Authors"
PROPERTY_HEADER = "Nessie-Commit-Property-"
"""Nessie takes the commit message, authors and properties of Iceberg REST commits from these request
headers (verified on 0.99: a property header's name is lowercased into the property key)."""


def commit_headers(commit: RunCommit, what: str) -> dict[str, str]:
    """Request headers that make Nessie's commit say ``commit.message(what)`` with its properties."""
    return {
        MESSAGE_HEADER: commit.message(what),
        AUTHORS_HEADER: commit.author,
        **{f"{PROPERTY_HEADER}{key}": value for key, value in commit.properties().items()},
    }


class NessieRestCatalog(RestCatalog):
    """RestCatalog with a timeout on every request and, optionally, snapshot history from Nessie.

    With ``commit`` (a RunCommit), every Nessie commit it makes names the run: the message says what
    changed (``phase 2 run <id> from cli: update bronze.orders``), the properties carry run id, phase
    and source.

    Nessie's Iceberg REST serves table metadata holding only the snapshot of the ref's HEAD (Nessie
    keeps history as commits). With ``history`` (a NessieClient) and ``ref`` set, ``load_table``
    rebuilds the snapshot list, snapshot log and schemas from the metadata file of every Nessie
    commit that changed the table, so time travel and snapshot browsing work as with any catalog.
    Such tables are for reading: write through a catalog opened without ``history``.
    """

    def __init__(
        self,
        name: str,
        *,
        timeout_s: float,
        history: NessieClient | None = None,
        ref: str | None = None,
        commit: RunCommit | None = None,
        **properties: str,
    ) -> None:
        self._timeout_s = timeout_s  # needed by _create_session, called from super().__init__
        self._commit = commit
        self._history = history
        self._ref = ref
        self._metadata_cache: dict[str, TableMetadata] = {}
        self._snapshot_locations: dict[int, str] = {}
        self._own_s3 = {key: value for key, value in properties.items() if key.startswith("s3.")}
        super().__init__(name, **properties)

    def _load_file_io(self, properties: Any = None, location: str | None = None) -> Any:
        """The FileIO of a table: this client's own S3 endpoint and keys win over the ones the server
        sends (Nessie's are those IT reaches MinIO with, e.g. ``http://minio:9000`` inside Compose)."""
        return super()._load_file_io({**(properties or {}), **self._own_s3}, location)

    def metadata_location_for(self, snapshot_id: int) -> str | None:
        """The metadata file (written by Nessie) whose current snapshot is ``snapshot_id``, if seen."""
        return self._snapshot_locations.get(snapshot_id)

    def load_table(self, identifier: str | Identifier) -> Table:
        table = super().load_table(identifier)
        if self._history is None:
            return table
        return self._with_history(table)

    def _read_metadata(self, location: str, table: Table) -> TableMetadata:
        cached = self._metadata_cache.get(location)
        if cached is None:
            cached = FromInputFile.table_metadata(table.io.new_input(location))
            if len(self._metadata_cache) > 2048:
                self._metadata_cache.clear()
            self._metadata_cache[location] = cached
        return cached

    def _with_history(self, table: Table) -> Table:
        assert self._history is not None
        ref = self._ref or self._history.default_branch
        key = ".".join(table.name())
        versions = self._history.content_history(ref, key)
        if not versions:
            return table
        content_id = versions[0].content_id
        snapshots: dict[int, Snapshot] = {}
        schemas = {s.schema_id: s for s in table.metadata.schemas}
        specs = {p.spec_id: p for p in table.metadata.partition_specs}
        for version in reversed(versions):  # oldest first
            if version.content_id != content_id or version.snapshot_id is None:
                continue
            if version.snapshot_id in snapshots:
                continue
            meta = self._read_metadata(version.metadata_location, table)
            snap = meta.snapshot_by_id(version.snapshot_id)
            if snap is None:
                continue
            snapshots[snap.snapshot_id] = snap
            self._snapshot_locations[snap.snapshot_id] = version.metadata_location
            for schema in meta.schemas:
                schemas.setdefault(schema.schema_id, schema)
            for spec in meta.partition_specs:
                specs.setdefault(spec.spec_id, spec)
        for snap in table.metadata.snapshots:
            snapshots.setdefault(snap.snapshot_id, snap)
        chain: list[Snapshot] = []
        known = set(snapshots)
        previous: int | None = None
        for snap in snapshots.values():
            parent = snap.parent_snapshot_id if snap.parent_snapshot_id in known else previous
            chain.append(snap.model_copy(update={"parent_snapshot_id": parent}))
            previous = snap.snapshot_id
        metadata = table.metadata.model_copy(
            update={
                "snapshots": chain,
                "snapshot_log": [
                    SnapshotLogEntry.model_validate(
                        {"snapshot-id": s.snapshot_id, "timestamp-ms": s.timestamp_ms}
                    )
                    for s in chain
                ],
                "schemas": [schemas[i] for i in sorted(schemas)],
                "partition_specs": [specs[i] for i in sorted(specs)],
            }
        )
        return Table(
            table.name(),
            metadata=metadata,
            metadata_location=table.metadata_location,
            io=table.io,
            catalog=self,
        )

    def _create_session(self) -> requests.Session:
        session = super()._create_session()
        adapter = _TimeoutAdapter(self._timeout_s)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if self._commit is not None:
            session.headers.update(commit_headers(self._commit, "update"))
        return session

    @contextmanager
    def _saying(self, what: str) -> Iterator[None]:
        """The commits made inside say ``what`` (the session is used by one thread at a time)."""
        if self._commit is None:
            yield
            return
        self._session.headers[MESSAGE_HEADER] = self._commit.message(what)
        try:
            yield
        finally:
            self._session.headers[MESSAGE_HEADER] = self._commit.message("update")

    def commit_table(self, table: Table, requirements: Any, updates: Any) -> Any:  # noqa: D102
        with self._saying(f"update {'.'.join(table.name())}"):
            return super().commit_table(table, requirements, updates)

    def create_table(self, identifier: str | Identifier, *args: Any, **kwargs: Any) -> Table:  # noqa: D102
        name = identifier if isinstance(identifier, str) else ".".join(identifier)
        with self._saying(f"create table {name}"):
            return super().create_table(identifier, *args, **kwargs)

    def create_namespace(self, namespace: str | Identifier, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        name = namespace if isinstance(namespace, str) else ".".join(namespace)
        with self._saying(f"create namespace {name}"):
            super().create_namespace(namespace, *args, **kwargs)


def rest_catalog_uri(settings: LakehouseSettings, ref: str | None = None) -> str:
    """Iceberg REST base URI for ``ref`` (default branch when None)."""
    base = settings.nessie.url.rstrip("/") + "/iceberg"
    return f"{base}/{quote(ref, safe='')}" if ref else base


def rest_warehouse(settings: LakehouseSettings, ref: str | None = None) -> str:
    """The warehouse location Nessie's Iceberg REST serves for ``ref`` (e.g. ``s3://warehouse``).

    Raises:
        ServiceUnavailableError: Nessie could not be reached.
    """
    from lakehouse_core.backends.stack._http import HttpClient

    client = HttpClient("nessie", rest_catalog_uri(settings, ref), timeout_s=settings.http_timeout_s)
    try:
        body = client.get_json("/v1/config")
    finally:
        client.close()
    for section in ("overrides", "defaults"):
        value = (body.get(section) or {}).get("warehouse")
        if value:
            return str(value)
    return ""


def rest_catalog_properties(settings: LakehouseSettings, ref: str | None = None) -> dict[str, str]:
    """Client properties: REST URI plus MinIO credentials/endpoint and S3 timeouts."""
    timeout = str(settings.http_timeout_s)
    return {
        "uri": rest_catalog_uri(settings, ref),
        "s3.endpoint": settings.minio.endpoint,
        "s3.access-key-id": settings.minio.access_key,
        "s3.secret-access-key": settings.minio.secret_key.get_secret_value(),
        "s3.region": settings.minio.region,
        "s3.connect-timeout": timeout,
        "s3.request-timeout": timeout,
    }


def open_rest_catalog(
    settings: LakehouseSettings,
    ref: str | None = None,
    *,
    history: NessieClient | None = None,
    commit: RunCommit | None = None,
) -> NessieRestCatalog:
    """A pyiceberg RestCatalog on Nessie's Iceberg REST endpoint for branch ``ref``.

    With ``history``, loaded tables carry every snapshot of their Nessie commit history (read-only use).
    With ``commit``, its Nessie commits name that run (message and properties).

    Raises:
        ServiceUnavailableError: Nessie could not be reached.
        NotFoundError: the ref does not exist.
    """
    props = rest_catalog_properties(settings, ref)
    name = f"nessie-{ref}" if ref else "nessie"
    with rest_errors():
        catalog = NessieRestCatalog(
            name, timeout_s=settings.http_timeout_s, history=history, ref=ref, commit=commit, **props
        )
    logger.info("iceberg rest: opened %s (ref %s)", props["uri"], ref or "<default>")
    return catalog


def describe_requests_error(exc: BaseException) -> str:
    """A short cause for a requests transport failure."""
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    return text[:300] or type(exc).__name__


@contextmanager
def rest_errors(service: str = "nessie") -> Iterator[None]:
    """Map pyiceberg REST / requests / S3 errors to lakehouse errors (the one place for this client)."""
    try:
        yield
    except (NoSuchTableError, NoSuchNamespaceError) as exc:
        raise NotFoundError(f"{service}: {exc}") from exc
    except (TableAlreadyExistsError, NamespaceAlreadyExistsError, CommitFailedException) as exc:
        raise ConflictError(f"{service}: {exc}") from exc
    except IcebergUnavailable as exc:
        raise ServiceUnavailableError(service, f"HTTP 503: {exc}") from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise ServiceUnavailableError(service, describe_requests_error(exc)) from exc
    except FileNotFoundError as exc:
        raise NotFoundError(f"object store: {exc}") from exc
    except OSError as exc:
        down = unavailable_error(exc)
        if down is not None:
            raise down from exc
        raise
