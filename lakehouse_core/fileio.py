"""Atomic file writes: a reader sees the old content or the new one, never a truncated file.

The new content goes to a temporary file in the target's directory, is flushed to disk (fsync) and
renamed over the target; the directory is fsynced so the rename survives a crash. On any failure
(ENOSPC, EIO...) the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically (tmp + fsync + rename + directory fsync)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:  # mkstemp makes 0600: keep the target's mode, or the usual 0644
            os.fchmod(fd, target.stat().st_mode & 0o777)
        except FileNotFoundError:
            os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename is None:  # name the file the write was for
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
        raise
    fsync_directory(target.parent)


def atomic_write_text(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` (UTF-8) atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (renames, new files) to disk; best effort where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
