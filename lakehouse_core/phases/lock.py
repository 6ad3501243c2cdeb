"""One run at a time: an inter-process lock per data dir (and per Nessie branch in stack mode).

The lock is ``fcntl.flock`` on ``<data dir>/locks/<key>.lock``: the kernel releases it when its
holder dies (SIGKILL, out of memory), so a killed run never blocks the next one. Next to it,
``<key>.lock.json`` records who holds it (pid, phase, start time, host, command), written atomically;
a second run reads it to say who is running. A record found when the flock is free was left by a run
that died: the new holder takes over and logs it.

The lock file lives on this machine, so the lock is per machine: a Nessie branch is only protected
from runs that share the data dir's file system (runs on other machines are not seen).

Within a process the lock is reentrant for the thread holding it (``lakehouse run`` holds it across
its four phases, each phase takes it again); another thread of the same process gets the same
"busy" answer as another process. The phase-1 child process inherits the lock's file descriptor
(``held_fds``), so the lock stays held until the child is gone too, even if its parent was killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from lakehouse_core.errors import BusyError, CancelledError
from lakehouse_core.fileio import atomic_write_text
from lakehouse_core.ports import CancelToken

logger = logging.getLogger(__name__)

POLL_S = 0.2
"""How often a waiting run retries the lock."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a run lock (the JSON record next to the lock file)."""

    pid: int
    phase: str
    """What runs, e.g. ``phase 1`` or ``generate``."""
    started_at: str
    """ISO local time the lock was taken."""
    host: str
    command: str
    child_pid: int | None = None
    """The phase child process, while one runs."""

    def describe(self) -> str:
        """``phase 1 is running since 00:41:02 (pid 1234, `lakehouse phase 1`)``."""
        try:
            since = datetime.fromisoformat(self.started_at).strftime("%H:%M:%S")
        except ValueError:
            since = self.started_at
        where = f"pid {self.pid}" if self.host == socket.gethostname() else f"pid {self.pid} on {self.host}"
        text = f"{self.phase} is running since {since} ({where}, `{self.command}`)"
        if not pid_alive(self.pid) and self.child_pid and pid_alive(self.child_pid):
            text += f"; pid {self.pid} is gone, its phase process {self.child_pid} is still stopping"
        return text


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_command() -> str:
    """The command line of this process, as a user would type it (``lakehouse phase 1``)."""
    argv = list(sys.argv) or ["lakehouse"]
    name = Path(argv[0]).name
    argv[0] = "lakehouse" if name in ("cli.py", "__main__.py", "-m", "-c") else name
    return " ".join(argv)


def lock_key(text: str) -> str:
    """A file-name-safe key: ``data-dir``, ``nessie-run_42``..."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


@dataclass
class _Held:
    fd: int
    owner: int
    """threading.get_ident() of the holding thread."""
    depth: int
    holder: LockHolder


_held: dict[Path, _Held] = {}
_held_guard = threading.Lock()


def held_fds() -> tuple[int, ...]:
    """File descriptors of the run locks this process holds (passed to the phase child process)."""
    with _held_guard:
        return tuple(h.fd for h in _held.values())


def note_child(pid: int | None) -> None:
    """Record (or clear, with None) the phase child process in every held lock's record."""
    with _held_guard:
        for path, held in _held.items():
            held.holder = replace(held.holder, child_pid=pid)
            _write_record(path, held.holder)


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _write_record(path: Path, holder: LockHolder) -> None:
    try:
        atomic_write_text(_record_path(path), json.dumps(asdict(holder)))
    except OSError as exc:  # the lock itself holds; only the description of the holder is missing
        logger.info("cannot write the run lock record %s: %s", _record_path(path), exc)


def read_holder(path: Path) -> LockHolder | None:
    """The holder record of the lock at ``path``, if any and readable."""
    try:
        data = json.loads(_record_path(path).read_text())
        return LockHolder(**data)
    except (OSError, ValueError, TypeError):
        return None


class RunLock:
    """The run lock at ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_key(cls, data_path: Path, key: str) -> RunLock:
        return cls(data_path / "locks" / f"{lock_key(key)}.lock")

    def _who(self) -> str:
        holder = read_holder(self.path)
        return holder.describe() if holder else "another run holds the lock (no holder record yet)"

    def _busy(self) -> BusyError:
        holder = read_holder(self.path)
        return BusyError(
            f"{self._who()}; use --wait to queue", holder=None if holder is None else asdict(holder)
        )

    def _try_flock(self) -> int | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def acquire(
        self,
        phase: str,
        *,
        wait: bool = False,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Take the lock for ``phase`` or raise BusyError (at once, or after ``timeout_s`` waiting)."""
        me = threading.get_ident()
        with _held_guard:
            held = _held.get(self.path)
            if held is not None and held.owner == me:
                held.depth += 1
                held.holder = replace(held.holder, phase=phase)
                _write_record(self.path, held.holder)
                return
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        announced = False
        while True:
            fd = None if held is not None and not wait else self._try_flock()
            if fd is not None:
                break
            if not wait:
                raise self._busy()
            if not announced:
                logger.warning("waiting for the run lock: %s", self._who())
                announced = True
            if deadline is not None and time.monotonic() >= deadline:
                raise BusyError(f"gave up waiting after {timeout_s:g} s: {self._who()}")
            if cancel is not None and cancel.cancelled:
                raise CancelledError("cancelled while waiting for the run lock")
            time.sleep(POLL_S)
        stale = read_holder(self.path)
        if stale is not None:
            logger.warning(
                "taking over the run lock %s left by a run that died: %s",
                self.path,
                stale.describe().replace(" is running since", " started"),
            )
        holder = LockHolder(
            pid=os.getpid(),
            phase=phase,
            started_at=datetime.now().isoformat(timespec="seconds"),
            host=socket.gethostname(),
            command=current_command(),
        )
        with _held_guard:
            _held[self.path] = _Held(fd, me, 1, holder)
        _write_record(self.path, holder)

    def release(self) -> None:
        """Give the lock back (the last release of the holding thread removes the record and unlocks)."""
        with _held_guard:
            held = _held.get(self.path)
            if held is None or held.owner != threading.get_ident():
                return
            held.depth -= 1
            if held.depth > 0:
                return
            del _held[self.path]
        with contextlib.suppress(OSError):
            _record_path(self.path).unlink()
        os.close(held.fd)  # closing the last descriptor releases the flock

    @contextlib.contextmanager
    def hold(
        self,
        phase: str,
        *,
        wait: bool = False,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[None]:
        """``with lock.hold("phase 1"):`` the body runs holding the lock."""
        self.acquire(phase, wait=wait, timeout_s=timeout_s, cancel=cancel)
        try:
            yield
        finally:
            self.release()


@contextlib.contextmanager
def hold_all(
    locks: list[RunLock],
    phase: str,
    *,
    wait: bool = False,
    timeout_s: float | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[None]:
    """Hold every lock of ``locks`` (taken in path order, so two runs never deadlock)."""
    with contextlib.ExitStack() as stack:
        for lock in sorted(locks, key=lambda lk: str(lk.path)):
            stack.enter_context(lock.hold(phase, wait=wait, timeout_s=timeout_s, cancel=cancel))
        yield
