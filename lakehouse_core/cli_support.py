"""What ``lakehouse`` does around its commands: exit codes, one-line errors, the log file, secrets
kept out of its output, and the guard that turns any exception into one line and an exit code.

Nothing reaches the terminal as a traceback: an unexpected exception prints
``internal error: <type>: <message> (details in <log file>)`` and exits 70; the traceback is in the
log file (``$LAKEHOUSE_LOG_FILE``, default ``$XDG_STATE_HOME/lakehouse/lakehouse.log``, i.e.
``~/.local/state/lakehouse/lakehouse.log``). Console output never interprets data as Rich markup.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from lakehouse_core.ports import Backend

from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from lakehouse_core.errors import (
    BackendNotInstalledError,
    BusyError,
    CancelledError,
    ConfigError,
    LakehouseError,
    NotFoundError,
    PhaseFailed,
    ServiceUnavailableError,
    disk_full_error,
    unavailable_error,
)
from lakehouse_core.redact import RedactingFormatter, Redactor

logger = logging.getLogger("lakehouse")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4
EXIT_BUSY = 5
EXIT_INTERNAL = 70
EXIT_IO = 74
EXIT_CANCELLED = 130

EXIT_CODES_HELP = """\
exit codes:
  0    ok
  1    the operation failed (a phase, a query, the exporter's port is taken)
  2    bad arguments or settings (the field and the reason), an unusable --data-dir, a missing extra
  3    a service is unavailable ("minio is unavailable: connection refused"), status --strict
  4    not found: a table, a run, a data dir that is not a lakehouse
  5    busy: another run holds the data dir's run lock (use --wait to queue)
  70   internal error (one line; the traceback is in the log file)
  74   I/O error: no space left on device, a file that cannot be written
  130  cancelled (Ctrl+C)
Errors are one line on stderr; details go to the log file ($LAKEHOUSE_LOG_FILE, default
~/.local/state/lakehouse/lakehouse.log)."""

PORT_MAX = 65535
_HANDLER_TAG = "_lakehouse_cli"


# ---------------------------------------------------------------- output
class RedactingStream:
    """A text stream that writes through ``redactor`` to ``target()`` (resolved at each write)."""

    def __init__(self, target: Callable[[], TextIO], redactor: Callable[[str], str]) -> None:
        self._target = target
        self._redactor = redactor

    def write(self, text: str) -> int:
        return self._target().write(self._redactor(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


def console(stream: Callable[[], TextIO], redactor: Callable[[str], str]) -> Console:
    """A Console printing data literally (no markup), unwrapped, with secrets redacted."""
    return Console(file=RedactingStream(stream, redactor), markup=False, soft_wrap=True)  # type: ignore[arg-type]


def one_line(text: str) -> str:
    """``text`` on one line (an engine's multi-line message joined with `` | ``)."""
    return " | ".join(line.strip() for line in str(text).splitlines() if line.strip())


# ---------------------------------------------------------------- settings and arguments
def settings_error_line(exc: ValidationError) -> str:
    """``settings: orders: Input should be greater than 0 (got -5)``: each field and its reason."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error.get("loc", ())) or "(settings)"
        part = f"{field}: {error.get('msg', 'invalid')}"
        value = error.get("input")
        secret = any(word in field for word in ("password", "secret", "key"))
        if error.get("type") != "missing" and not secret and isinstance(value, str | int | float | bool):
            shown = str(value)
            part += f" (got {shown[:60] + '...' if len(shown) > 60 else shown})"
        parts.append(part)
    return "settings: " + "; ".join(parts)


def check_port(port: int) -> None:
    """ConfigError unless ``port`` is a TCP port number."""
    if not 0 <= port <= PORT_MAX:
        raise ConfigError(f"port {port} is not a TCP port (0-{PORT_MAX})")


def check_data_dir(path: Path, *, create: bool, write: bool) -> None:
    """ConfigError unless ``path`` is (or, with ``create``, can become) a usable data directory."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data dir {path} is not a directory")
    if not path.exists():
        if not create:
            return
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"data dir {path} cannot be created: {exc.strerror or exc}") from exc
    if write and not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"data dir {path} is not writable")


LAKEHOUSE_MARKERS = ("raw", "runs", "current", "catalog.db", "warehouse")
"""What a data dir holds once anything was made in it (``generate``, a phase)."""


def check_lakehouse(path: Path, catalog_db: Path | None = None) -> None:
    """NotFoundError unless ``path`` holds a lakehouse (or ``catalog_db``, the SQLite catalog the
    settings name elsewhere, exists): commands that only read never create an empty one."""
    check_data_dir(path, create=False, write=False)
    if any((path / name).exists() for name in LAKEHOUSE_MARKERS):
        return
    if catalog_db is not None and catalog_db.exists():
        return
    what = "does not exist" if not path.exists() else "is not a lakehouse (no raw/, runs/ or catalog.db)"
    raise NotFoundError(
        f"data dir {path} {what}: check --data-dir, or create one with `lakehouse phase 1`"
    )


# ---------------------------------------------------------------- logging
def log_file_path() -> Path:
    """``$LAKEHOUSE_LOG_FILE``, else ``$XDG_STATE_HOME/lakehouse/lakehouse.log``."""
    explicit = os.environ.get("LAKEHOUSE_LOG_FILE")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "lakehouse" / "lakehouse.log"


def _file_handler(path: Path) -> logging.Handler | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None


def setup_logging(verbose: bool, redactor: Redactor) -> Path | None:
    """Log to the log file (INFO, DEBUG with ``verbose``); to stderr only with ``verbose``, apart
    from the run lock's notices (waiting, taking over a dead run's lock). Returns the log file."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_TAG, False)]:
        root.removeHandler(old)
        old.close()
    lock_logger = logging.getLogger("lakehouse_core.phases.lock")
    for old in [h for h in lock_logger.handlers if getattr(h, _HANDLER_TAG, False)]:
        lock_logger.removeHandler(old)
    formatter = RedactingFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s", redactor)
    path: Path | None = log_file_path()
    handler = _file_handler(path) if path else None
    if handler is None:  # an unwritable home: the temp dir
        path = Path(tempfile.gettempdir()) / f"lakehouse-{os.getuid()}.log"
        handler = _file_handler(path)
        path = path if handler else None
    handlers: list[logging.Handler] = [handler] if handler else []
    if verbose:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s", redactor))
        handlers.append(stderr)
    else:
        notices = logging.StreamHandler(sys.stderr)
        notices.setLevel(logging.WARNING)
        notices.setFormatter(RedactingFormatter("%(message)s", redactor))
        setattr(notices, _HANDLER_TAG, True)
        lock_logger.addHandler(notices)
    for h in handlers:
        if h is handler:
            h.setFormatter(formatter)
        setattr(h, _HANDLER_TAG, True)
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return path


# ---------------------------------------------------------------- the guard
class Guard:
    """Runs the command; every exception becomes one line on ``err`` and its exit code."""

    def __init__(self, err: Console, redactor: Redactor, log_path: Path | None) -> None:
        self.err = err
        self.redactor = redactor
        self.log_path = log_path

    def say(self, prefix: str, message: str, style: str = "red") -> None:
        text = Text.assemble((prefix, style), one_line(self.redactor(message)))
        self.err.print(text, soft_wrap=True, markup=False, highlight=False)

    def run(self, body: Callable[[], int]) -> int:
        try:
            return body()
        except KeyboardInterrupt:
            self.say("cancelled", "", "yellow")
            return EXIT_CANCELLED
        except ValidationError as exc:
            self.say("error: ", settings_error_line(exc))
            return EXIT_USAGE
        except Exception as exc:  # noqa: BLE001 - classified below; one line each, never a traceback
            return self._error(exc)

    def _error(self, exc: Exception) -> int:
        down = unavailable_error(exc)  # an outage reads the same from every path: service and cause
        if down is not None:
            logger.info("service unavailable: %s", down, exc_info=exc)
            where = f"phase {exc.phase} failed: " if isinstance(exc, PhaseFailed) else ""
            self.say("error: ", f"{where}{down}")
            return EXIT_UNAVAILABLE
        if isinstance(exc, LakehouseError):
            return self._lakehouse_error(exc)
        if isinstance(exc, OSError):
            return self._os_error(exc)
        logger.error("internal error", exc_info=exc)  # the last resort: one line, the traceback in the log
        where = f"details in {self.log_path}" if self.log_path else "no log file could be written"
        self.say("internal error: ", f"{type(exc).__name__}: {exc} ({where})")
        return EXIT_INTERNAL

    def _lakehouse_error(self, exc: LakehouseError) -> int:
        logger.info("command failed: %s", exc, exc_info=True)
        if isinstance(exc, PhaseFailed):
            if isinstance(exc.cause, CancelledError):
                self.say("cancelled", "", "yellow")
                return EXIT_CANCELLED
            full = disk_full_error(exc.cause) if isinstance(exc.cause, BaseException) else None
            self.say("error: ", f"phase {exc.phase} failed: {full}" if full else str(exc))
            return EXIT_IO if full else EXIT_FAILED
        if isinstance(exc, CancelledError):
            self.say("cancelled: ", str(exc), "yellow")
            return EXIT_CANCELLED
        self.say("error: " if not isinstance(exc, BusyError) else "busy: ", str(exc))
        codes: list[tuple[type[LakehouseError], int]] = [
            (BusyError, EXIT_BUSY),
            (ServiceUnavailableError, EXIT_UNAVAILABLE),
            (NotFoundError, EXIT_NOT_FOUND),
            (ConfigError, EXIT_USAGE),
            (BackendNotInstalledError, EXIT_USAGE),
        ]
        if disk_full_error(exc):
            return EXIT_IO
        return next((code for cls, code in codes if isinstance(exc, cls)), EXIT_FAILED)

    def _os_error(self, exc: OSError) -> int:
        logger.info("I/O error", exc_info=True)
        full = disk_full_error(exc)
        where = f": {exc.filename}" if exc.filename else ""
        self.say("error: ", str(full) if full else f"{exc.strerror or exc}{where}")
        return EXIT_IO


class CommandContext(Protocol):
    """What a command module (``cli_runs``, ``cli_maintain``) uses of ``lakehouse_core.cli.Cli``."""

    args: argparse.Namespace
    out: Console

    @property
    def backend(self) -> Backend: ...

    def emit_json(self, payload: Any) -> None: ...
