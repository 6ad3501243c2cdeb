"""Run a phase in a child process.

The heavy phases (generation and the DuckDB pipeline) hold the GIL and allocate millions of objects; run
in a thread, they stall the caller's event loop (the TUI's frames) through the GIL and the cyclic GC.
In a child process (``python -m lakehouse_core.phases._child``) they share nothing with the caller:
progress events, log records and the outcome come back on the child's stdout, cancellation goes down
its stdin (the messages of ``phases.messages``), and the child runs at a lower CPU priority
(``settings.phase_nice``) so the interactive process wins the cores. A child that crashes, is killed
(e.g. out of memory) or ignores a cancel fails the phase with a clear error; the caller survives. The
child's own stdout/stderr (native libraries) go to ``data/runs/phase<N>.child.log``, never to the
caller's terminal.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from lakehouse_core.errors import CancelledError, LakehouseError, PhaseFailed
from lakehouse_core.models import PhaseResult
from lakehouse_core.phases.lock import held_fds, note_child
from lakehouse_core.phases.messages import (
    ChildMsg,
    ErrorMsg,
    FailedMsg,
    Job,
    LogMsg,
    PhaseFn,
    ProgressMsg,
    ResultMsg,
)
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

CANCEL_GRACE_S = 15.0
"""How long a cancelled child may take to stop on its own before it is terminated."""
POLL_S = 0.1
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def child_log_path(settings: LakehouseSettings, phase: int) -> Path:
    """Where a phase child's own stdout/stderr go (the last run of that phase)."""
    return settings.data_path / "runs" / f"phase{phase}.child.log"


_Inbox = queue.Queue[ChildMsg | None]
"""The child's messages; None when its stdout closed."""


def _unreadable(what: str) -> ErrorMsg:
    error = LakehouseError(f"unreadable message from the phase process: {what}", title="Phase failed")
    return ErrorMsg(error)


def _reader(stream: IO[bytes], inbox: _Inbox) -> None:
    """Unpickle the child's messages into ``inbox``; None when the pipe closes."""
    try:
        while True:
            message = pickle.load(stream)
            if not isinstance(message, ChildMsg):
                inbox.put(_unreadable(repr(message)[:200]))
                break
            inbox.put(message)
    except (EOFError, OSError, pickle.UnpicklingError):
        pass
    except Exception as exc:  # noqa: BLE001 - a message that cannot be rebuilt ends the run with its cause
        inbox.put(_unreadable(repr(exc)))
    inbox.put(None)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def _died(exitcode: int | None, settings: LakehouseSettings, phase: int) -> PhaseFailed:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"was killed by signal {-exitcode}"
        if exitcode == -signal.SIGKILL:
            how += " (out of memory?)"
    else:
        how = f"exited with code {exitcode}"
    tail = _tail(child_log_path(settings, phase))
    detail = f"the phase process {how} without a result" + (f"; its log ends: {tail}" if tail else "")
    return PhaseFailed(phase, detail)


def run_isolated(
    fn: PhaseFn,
    settings: LakehouseSettings,
    phase: int,
    *,
    run_id: str,
    progress: ProgressSink = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    nice: int | None = None,
) -> PhaseResult:
    """Run ``fn`` for ``phase`` in a child process and return its PhaseResult.

    Raises what ``fn`` raised (PhaseFailed with its partial result, CancelledError, LakehouseError),
    or PhaseFailed when the child dies without answering (crash, kill, out of memory).
    """
    log_path = child_log_path(settings, phase)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    with open(log_path, "wb") as log_file:  # the last run only: no unbounded growth
        process = subprocess.Popen(
            [sys.executable, "-m", "lakehouse_core.phases._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=env,
            pass_fds=held_fds(),  # the child holds the run lock too: it stays held until both are gone
            # same session as the caller on purpose: with the kernel's autogroup scheduling, a new
            # session would get its own CPU share and make the child's niceness meaningless
        )
    assert process.stdin is not None and process.stdout is not None
    logger.info("phase %s runs in child process %s", phase, process.pid)
    note_child(process.pid)
    inbox: _Inbox = queue.Queue()
    reader = threading.Thread(target=_reader, args=(process.stdout, inbox), daemon=True)
    reader.start()
    job = Job(fn, settings, phase, run_id, settings.phase_nice if nice is None else nice)
    cancel_sent_at: float | None = None
    try:
        try:
            pickle.dump(job, process.stdin)
            process.stdin.flush()
        except OSError:
            pass  # the child died at once: reported below from its exit code
        while True:
            if cancel is not None and cancel.cancelled and cancel_sent_at is None:
                cancel_sent_at = time.monotonic()
                try:
                    process.stdin.write(b"c")
                    process.stdin.flush()
                except OSError:
                    pass
            try:
                message = inbox.get(timeout=POLL_S)
            except queue.Empty:
                if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                    process.kill()
                    raise CancelledError(
                        f"cancelled by user (the phase did not stop within {CANCEL_GRACE_S:g} s "
                        "and was terminated)"
                    ) from None
                continue
            match message:
                case ProgressMsg(event):
                    progress.emit(event)
                case LogMsg(record):
                    logging.getLogger(record.name).handle(record)
                case ResultMsg(result):
                    return result
                case ErrorMsg(error):
                    raise error
                case FailedMsg(failed_phase, cause):
                    raise PhaseFailed(failed_phase, cause)
                case None:  # the child is gone without an outcome
                    raise _died(process.wait(timeout=10), settings, phase)
    finally:
        try:
            process.stdin.close()  # EOF: a child still running takes it as a cancel
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        process.stdout.close()
        note_child(None)
