"""Shared pieces of the fake backend: fixed clock and the Gate that makes calls hang or raise."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HANG_TIMEOUT_S = 30.0


@dataclass
class Gate:
    """Makes named calls hang or raise; records every call."""

    hang: dict[str, threading.Event] = field(default_factory=dict)
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    entered: dict[str, threading.Event] = field(default_factory=dict)

    def check(self, name: str) -> None:
        self.calls.append(name)
        self.entered.setdefault(name, threading.Event()).set()
        if name in self.fail:
            raise self.fail[name]
        event = self.hang.get(name)
        if event is not None:
            event.wait(HANG_TIMEOUT_S)

    def release(self) -> None:
        for event in self.hang.values():
            event.set()
