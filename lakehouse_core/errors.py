"""Error types shared by every backend. Transport errors are mapped to these in one place per client."""

from __future__ import annotations

import errno
import re
from typing import Any


class LakehouseError(Exception):
    """Base of every error the product raises on purpose; carries a short title for toasts."""

    title = "Error"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as type, args and attributes, whatever a subclass's __init__ takes: the error a phase
        # child raises is raised again, with the same type, message, title and fields, in the parent
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[LakehouseError], args: tuple[Any, ...], state: dict[str, Any]) -> LakehouseError:
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


class ConfigError(LakehouseError):
    """Settings are missing or invalid."""

    title = "Configuration error"


class BackendNotInstalledError(LakehouseError):
    """An optional extra (e.g. ``[stack]``) is needed but not installed."""

    title = "Missing dependency"


class ServiceUnavailableError(LakehouseError):
    """A service could not be reached (connection refused, timeout, DNS...)."""

    title = "Service unavailable"

    def __init__(self, service: str, cause: str) -> None:
        super().__init__(f"{service} is unavailable: {cause}")
        self.service = service
        self.cause = cause


class NotFoundError(LakehouseError):
    """A table, ref, snapshot or file does not exist."""

    title = "Not found"


class ConflictError(LakehouseError):
    """The target changed concurrently or already exists (ref exists, merge conflict...)."""

    title = "Conflict"


class QueryError(LakehouseError):
    """The SQL engine rejected or failed a query; the message is the engine's own."""

    title = "Query failed"

    def __init__(self, message: str, engine: str = "") -> None:
        super().__init__(message)
        self.engine = engine


class DataError(LakehouseError):
    """Input data is missing or unusable (e.g. no raw CSVs before phase 1 ingest)."""

    title = "Data error"


class BusyError(LakehouseError):
    """Another run holds the run lock of this data dir (or Nessie branch); ``holder`` describes it."""

    title = "Busy"

    def __init__(self, message: str, holder: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class DiskFullError(LakehouseError):
    """A write failed for lack of space (ENOSPC, or DuckDB's "No space left on device")."""

    title = "Disk full"

    def __init__(self, path: str | None = None) -> None:
        where = f" while writing {path}" if path else ""
        super().__init__(f"no space left on device{where}")
        self.path = path


class ResourceError(LakehouseError):
    """The machine lacks what a run needs (memory, disk); the message names the setting to change."""

    title = "Not enough resources"


class NoRoomError(DiskFullError, ResourceError):
    """A run needs more free disk than there is, found before it starts; the message says how much."""

    def __init__(self, message: str, path: str | None = None) -> None:
        LakehouseError.__init__(self, message)
        self.path = path


_NO_SPACE = "no space left on device"
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


def disk_full_error(exc: BaseException) -> DiskFullError | None:
    """A DiskFullError naming the file, when ``exc`` (or what caused it) is a full disk; else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFullError):
            return current
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFullError(None if current.filename is None else str(current.filename))
        text = str(current)
        if _NO_SPACE in text.lower():  # DuckDB: 'IO Error: Could not write file "/x": No space left...'
            match = _QUOTED_PATH.search(text)
            return DiskFullError(match.group(1) if match else None)
        current = current.__cause__ or current.__context__
    return None


OBJECT_STORE = "minio"
"""The service behind the S3 warehouse (its row in the service table)."""
_REFUSED = ("connection refused", "couldn't connect", "could not connect", "curlcode: 7",
            "failed to establish", "network_connection", "could not establish connection")
_TIMED_OUT = ("connect timeout", "connection timed out", "curlcode: 28")
_HTTP_CLIENTS = ("requests", "urllib3", "httpx")
"""Their transport errors are mapped by each client (``rest_errors``, ``HttpClient``), which knows
the service it talked to; a text that says "connection refused" there is not the object store's."""


def object_store_cause(text: str) -> str | None:
    """``connection refused`` / ``timed out`` when an S3 client's error text (pyarrow's AWS SDK,
    DuckDB's httpfs, s3fs) says the endpoint could not be reached; None otherwise."""
    low = text.lower()
    if any(marker in low for marker in _TIMED_OUT):
        return "timed out"
    if any(marker in low for marker in _REFUSED):
        return "connection refused"
    return None


def unavailable_error(exc: BaseException) -> ServiceUnavailableError | None:
    """The ServiceUnavailableError ``exc`` stands for, or None: a ServiceUnavailableError in its
    chain, or an object-store transport failure (pyarrow's ``OSError("When reading ... AWS Error
    NETWORK_CONNECTION ...")``, DuckDB's "Could not connect to server", raw or in a QueryError) as
    ``minio is unavailable: connection refused``. The one mapping every path (phases, SQL, CLI) uses."""
    chain = _chain(exc)
    named = next((e for e in chain if isinstance(e, ServiceUnavailableError)), None)
    if named is not None:  # a client named the service: it wins over any text
        return named
    for current in chain:
        if _may_be_object_store(current):
            cause = object_store_cause(str(current))
            if cause is not None:
                return ServiceUnavailableError(OBJECT_STORE, cause)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what caused it and, for a PhaseFailed, its cause (a phase child's error comes back
    as the cause, unchained), breadth first, each once."""
    out: list[BaseException] = []
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if any(current is seen for seen in out):
            continue
        out.append(current)
        if isinstance(current, PhaseFailed) and isinstance(current.cause, BaseException):
            pending.append(current.cause)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return out


def _may_be_object_store(exc: BaseException) -> bool:
    """Errors whose text is an S3 client's: OSError (pyarrow, s3fs), DuckDB's, and the QueryError or
    phase failure text that carries them; never an HTTP client's (mapped by its caller)."""
    package = type(exc).__module__.split(".")[0]
    if package in _HTTP_CLIENTS:
        return False
    if isinstance(exc, PhaseFailed):  # its text is its cause's: only a cause given as text counts
        return isinstance(exc.cause, str)
    return isinstance(exc, OSError | QueryError) or package in ("duckdb", "_duckdb", "pyarrow")


class CancelledError(LakehouseError):
    """The user cancelled a running operation."""

    title = "Cancelled"


class PhaseFailed(LakehouseError):
    """A phase failed; ``partial`` is the PhaseResult of what completed before the failure."""

    title = "Phase failed"

    def __init__(self, phase: int, cause: BaseException | str, partial: Any = None) -> None:
        super().__init__(f"phase {phase} failed: {cause}")
        self.phase = phase
        self.cause = cause
        self.partial = partial
