"""What a phase's parent (``phases.isolation``) and its child process (``phases._child``) send each
other, pickled on the child's pipes.

stdin: one ``Job``; after it, any byte (or EOF) means cancel.
stdout: ``ProgressMsg`` and ``LogMsg`` while the phase runs, then exactly one outcome: ``ResultMsg``,
``ErrorMsg`` (one of our errors, the object itself) or ``FailedMsg`` (an error that cannot cross the
pipe as an object: a bug in the phase, or an unpicklable error).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import PhaseResult, ProgressEvent
from lakehouse_core.settings import LakehouseSettings

PhaseFn = Callable[..., PhaseResult]
"""A module-level function ``fn(settings, *, run_id, progress, cancel) -> PhaseResult``."""


@dataclass(frozen=True)
class Job:
    """Parent to child, once: run ``fn`` for ``phase`` at CPU niceness ``nice`` (0: unchanged)."""

    fn: PhaseFn
    settings: LakehouseSettings
    phase: int
    run_id: str
    nice: int


@dataclass(frozen=True)
class ProgressMsg:
    """A progress event of the phase."""

    event: ProgressEvent


@dataclass(frozen=True)
class LogMsg:
    """A log record of the child (message already formatted), handled by the parent's logger."""

    record: logging.LogRecord


@dataclass(frozen=True)
class ResultMsg:
    """The phase finished: its result."""

    result: PhaseResult


@dataclass(frozen=True)
class ErrorMsg:
    """The phase raised one of our errors (PhaseFailed with its partial result, CancelledError...):
    the parent raises the same error."""

    error: LakehouseError


@dataclass(frozen=True)
class FailedMsg:
    """The phase failed with an error that cannot cross as an object: the parent raises
    ``PhaseFailed(phase, cause)``."""

    phase: int
    cause: str


ChildMsg = ProgressMsg | LogMsg | ResultMsg | ErrorMsg | FailedMsg
"""Everything the child sends."""
