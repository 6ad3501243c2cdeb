"""Crash points: named places where a test can SIGKILL the process (``LAKEHOUSE_CRASH_AT``).

``crash_point("phase1.publish.before_switch")`` kills the running process with SIGKILL when the
environment variable ``LAKEHOUSE_CRASH_AT`` names that point (a comma-separated list may name
several). Without the variable it costs one dictionary lookup. The crash-safety tests use these to
stop a run at an exact step instead of racing it with sleeps.
"""

from __future__ import annotations

import logging
import os
import signal

ENV = "LAKEHOUSE_CRASH_AT"

logger = logging.getLogger(__name__)


def crash_point(name: str) -> None:
    """SIGKILL this process when ``LAKEHOUSE_CRASH_AT`` names ``name``."""
    wanted = os.environ.get(ENV)
    if wanted and name in wanted.split(","):
        logger.warning("crash point %s reached: killing process %s", name, os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)
