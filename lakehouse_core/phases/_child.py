"""The phase child process (see lakehouse_core.phases.isolation).

Run as ``python -m lakehouse_core.phases._child``.

stdin: one pickled job ``(fn, settings, phase, run_id, nice)``, then any byte (or EOF) means cancel.
stdout: pickled messages ``("progress", event)``, ``("log", record)`` and one final ``("ok", result)``,
``("failed", phase, cause, partial)``, ``("cancelled", text)`` or ``("error", type, text, title)``.
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
from typing import IO, Any


class _Channel:
    """Pickled messages to the parent; safe from any thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            pickle.dump(message, self._stream)
            self._stream.flush()

    def put_nowait(self, record: logging.LogRecord) -> None:  # the QueueHandler's queue
        self.send(("log", record))


class _ChannelSink:
    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    def emit(self, event: Any) -> None:
        self._channel.send(("progress", event))


def _watch_stdin(stream: IO[bytes], token: Any) -> None:
    try:
        stream.read(1)  # a byte: cancel; b"" (EOF): the parent is gone, stop too
    except OSError:
        pass
    token.cancel()


def main() -> None:
    """Read the job, run it, send the outcome."""
    channel = _Channel(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)  # prints and native output go to the log file (our stderr), never to the channel
    stdin = sys.stdin.buffer
    # a Ctrl+C in the terminal reaches the caller too, which cancels through stdin: stop cleanly then
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fn, settings, phase, run_id, nice = pickle.load(stdin)
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(channel)]  # type: ignore[arg-type]
    root.setLevel(logging.INFO)
    from lakehouse_core.errors import CancelledError, LakehouseError, PhaseFailed
    from lakehouse_core.ports import CancelToken

    token = CancelToken()
    threading.Thread(target=_watch_stdin, args=(stdin, token), daemon=True).start()
    try:
        result = fn(settings, run_id=run_id, progress=_ChannelSink(channel), cancel=token)
    except PhaseFailed as exc:
        channel.send(("failed", exc.phase, str(exc.cause), exc.partial))
    except CancelledError as exc:
        channel.send(("cancelled", str(exc)))
    except LakehouseError as exc:
        channel.send(("error", type(exc).__name__, exc.message, exc.title))
    except BaseException as exc:  # noqa: BLE001 - every failure reaches the parent as a message
        traceback.print_exc()
        channel.send(("failed", phase, repr(exc), None))  # a bug in the phase fails the phase
    else:
        channel.send(("ok", result))


if __name__ == "__main__":
    main()
    sys.stderr.flush()
    os._exit(0)  # every output file is closed by now; skip the interpreter's slow teardown
