"""The phase child process (see lakehouse_core.phases.isolation).

Run as ``python -m lakehouse_core.phases._child``; what goes over its pipes is in
``lakehouse_core.phases.messages``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import pickle
import signal
import sys
import threading
import traceback
from typing import IO

from lakehouse_core.errors import LakehouseError, PhaseFailed
from lakehouse_core.models import ProgressEvent
from lakehouse_core.phases.messages import ChildMsg, ErrorMsg, FailedMsg, Job, LogMsg, ProgressMsg, ResultMsg
from lakehouse_core.ports import CancelToken


class _Channel:
    """Pickled messages to the parent; safe from any thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: ChildMsg) -> None:
        data = pickle.dumps(message)  # a message that cannot be pickled leaves the stream intact
        with self._lock:
            self._stream.write(data)
            self._stream.flush()

    def put_nowait(self, record: logging.LogRecord) -> None:  # the QueueHandler's queue
        self.send(LogMsg(record))


class _ChannelSink:
    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    def emit(self, event: ProgressEvent) -> None:
        self._channel.send(ProgressMsg(event))


def _watch_stdin(stream: IO[bytes], token: CancelToken) -> None:
    try:
        stream.read(1)  # a byte: cancel; b"" (EOF): the parent is gone, stop too
    except OSError:
        pass
    token.cancel()


def _error_msg(exc: LakehouseError, phase: int) -> ErrorMsg | FailedMsg:
    """The error itself when it survives a pickle round trip, else a FailedMsg with its text."""
    message = ErrorMsg(exc)
    try:
        pickle.loads(pickle.dumps(message))
    except Exception:  # noqa: BLE001 - any pickling failure: the text still reaches the parent
        traceback.print_exc()
        cause = str(exc.cause) if isinstance(exc, PhaseFailed) else f"{type(exc).__name__}: {exc}"
        return FailedMsg(phase, cause)
    return message


def _send_outcome(channel: _Channel, outcome: ChildMsg, phase: int) -> None:
    try:
        channel.send(outcome)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result fails the phase with its cause
        traceback.print_exc()
        channel.send(FailedMsg(phase, f"the phase's outcome cannot be sent: {exc!r}"))


def main() -> None:
    """Read the job, run it, send the outcome."""
    channel = _Channel(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)  # prints and native output go to the log file (our stderr), never to the channel
    stdin = sys.stdin.buffer
    # a Ctrl+C in the terminal reaches the caller too, which cancels through stdin: stop cleanly then
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    job: Job = pickle.load(stdin)
    if job.nice:
        try:
            os.nice(job.nice)
        except OSError:
            pass
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(channel)]  # type: ignore[arg-type]
    root.setLevel(logging.INFO)

    token = CancelToken()
    threading.Thread(target=_watch_stdin, args=(stdin, token), daemon=True).start()
    outcome: ChildMsg
    try:
        result = job.fn(job.settings, run_id=job.run_id, progress=_ChannelSink(channel), cancel=token)
    except LakehouseError as exc:  # PhaseFailed with its partial result, CancelledError, DataError...
        outcome = _error_msg(exc, job.phase)
    except BaseException as exc:  # noqa: BLE001 - a bug in the phase fails the phase
        traceback.print_exc()
        outcome = FailedMsg(job.phase, repr(exc))
    else:
        outcome = ResultMsg(result)
    _send_outcome(channel, outcome, job.phase)


if __name__ == "__main__":
    main()
    sys.stderr.flush()
    os._exit(0)  # every output file is closed by now; skip the interpreter's slow teardown
