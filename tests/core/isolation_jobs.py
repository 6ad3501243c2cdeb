"""Phase functions the isolation tests run in a child process (module level: the child imports them)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from lakehouse_core.errors import DataError, PhaseFailed, ServiceUnavailableError
from lakehouse_core.models import PhaseResult, ProgressEvent, TaskResult
from lakehouse_core.ports import CancelToken, ProgressSink
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger("tests.isolation_jobs")


def _result(**outputs: Any) -> PhaseResult:
    task = TaskResult("work", 0.01, {"raw.orders": 3})
    return PhaseResult(
        1, True, "R", datetime(2026, 1, 1, tzinfo=UTC), 0.01, (task,), {"raw.orders": 3}, 0, (), outputs
    )


def chatty(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    """Prints to stdout and stderr (must not reach the channel), logs, reports progress."""
    print("a stray print on stdout")
    print("a stray print on stderr", file=sys.stderr)
    os.write(1, b"raw bytes on fd 1\n")
    logger.warning("hello from pid %s", os.getpid())
    for i in range(1, 4):
        progress.emit(ProgressEvent(1, "work", "advance", done=i, total=3))
    return _result(pid=os.getpid(), nice=os.nice(0), run_id=run_id, orders=settings.orders)


def fails_with_partial(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    raise PhaseFailed(1, "bronze exploded", _result(partial=True))


def data_error(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    raise DataError("no raw CSVs under data/raw", title="No input")


def bug(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    return {}["missing"]  # type: ignore[no-any-return]


def crash(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    print("about to die", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def until_cancelled(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    progress.emit(ProgressEvent(1, "work", "start", message="waiting for cancel"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cancel.raise_if_cancelled()
        time.sleep(0.02)
    raise AssertionError("never cancelled")


def ignores_cancel(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    progress.emit(ProgressEvent(1, "work", "start", message="stuck"))
    time.sleep(60)
    raise AssertionError("not terminated")


def service_down(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    """An error whose __init__ takes other arguments than (message, title)."""
    raise PhaseFailed(1, ServiceUnavailableError("nessie", "connection refused"), _result(partial=True))


def unpicklable_error(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    class Local(DataError):  # defined in a function: pickle cannot find it by name
        pass

    raise Local("a local error type", title="Local")


def unpicklable_result(
    settings: LakehouseSettings, *, run_id: str, progress: ProgressSink, cancel: CancelToken
) -> PhaseResult:
    return _result(handle=lambda: None)
