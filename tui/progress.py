"""A ProgressSink that hands phase events to the UI thread as coalescible messages."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from lakehouse_core.models import ProgressEvent
from tui.messages import PhaseProgress


class _Poster(Protocol):
    def post_message(self, message: PhaseProgress) -> bool: ...  # pragma: no cover - typing only


class TuiProgressSink:
    """Posts ``PhaseProgress`` to ``target`` from any thread.

    ``advance`` events of one task are throttled to one every ``min_interval_s`` (the latest is
    kept and flushed before the next non-advance event), and the UI side coalesces what still
    queues up, so a tight loop in the pipeline cannot flood the event loop.
    """

    def __init__(self, target: _Poster, min_interval_s: float = 0.05) -> None:
        self._target = target
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._last_post: dict[str, float] = {}
        self._pending: dict[str, ProgressEvent] = {}

    def emit(self, event: ProgressEvent) -> None:
        """Forward ``event`` (thread-safe)."""
        to_post: list[ProgressEvent] = []
        with self._lock:
            now = time.monotonic()
            if event.kind == "advance":
                last = self._last_post.get(event.task, float("-inf"))
                finished = event.total is not None and event.done >= event.total
                if now - last < self._min_interval_s and not finished:
                    self._pending[event.task] = event
                    return
                self._pending.pop(event.task, None)
                self._last_post[event.task] = now
                to_post.append(event)
            else:
                pending = self._pending.pop(event.task, None)
                if pending is not None:
                    to_post.append(pending)
                to_post.append(event)
        for item in to_post:
            self._target.post_message(PhaseProgress(item))
