"""Test hooks: named points in a run where a test can act deterministically (wait for a file, fail,
kill the process) instead of sleeping.

``LAKEHOUSE_TEST_HOOK=/path/to/hooks.py`` names a Python file defining ``hook(point: str, **info)``;
it is called at every ``hook_point`` (in the phase child process too, which inherits the
environment). Without the variable a hook point costs one environment lookup.

Points: ``step`` (before each step of a phase: ``phase``, ``step``), ``locked`` (a run holds the
run lock: ``phase``).
"""

from __future__ import annotations

import functools
import os
import runpy
from collections.abc import Callable
from typing import Any

ENV = "LAKEHOUSE_TEST_HOOK"


@functools.cache
def _load(path: str) -> Callable[..., Any]:
    hook: Callable[..., Any] = runpy.run_path(path)["hook"]
    return hook


def hook_point(point: str, **info: Any) -> None:
    """Call the test hook (if ``LAKEHOUSE_TEST_HOOK`` names one) for ``point``."""
    path = os.environ.get(ENV)
    if path:
        _load(path)(point, **info)
