"""The Compose stack's ``.env``: written from ``.env.example`` with random secrets, read back as a dict.

``compose/.env.example`` is committed and holds no password. ``ensure_env`` writes ``compose/.env``
the first time (mode 0600, in one rename), filling every empty secret with ``secrets.token_urlsafe``;
later calls keep every value already there and only add keys that appeared in the example since.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from dotenv import dotenv_values

from lakehouse_core.errors import ConfigError

log = logging.getLogger(__name__)

EXAMPLE_NAME = ".env.example"
ENV_NAME = ".env"
SECRET_MARKERS = ("PASSWORD", "SECRET", "TOKEN")


def is_secret(key: str) -> bool:
    """A key whose value is generated when empty (and never logged)."""
    return any(marker in key.upper() for marker in SECRET_MARKERS)


def read_env(path: Path) -> dict[str, str]:
    """``KEY=value`` pairs of an env file (comments and blank lines skipped; a key without a value is "")."""
    try:
        values = dotenv_values(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return {key: value or "" for key, value in values.items()}


def _render(example: Path, current: dict[str, str]) -> tuple[str, list[str]]:
    """The example's text with each value taken from ``current``, or generated; and the keys added."""
    lines: list[str] = []
    added: list[str] = []
    for raw in example.read_text(encoding="utf-8").splitlines():
        key, sep, value = raw.partition("=")
        key = key.strip()
        if raw.lstrip().startswith("#") or not sep or not key:
            lines.append(raw)
            continue
        if key in current:
            value = current[key]
        else:
            added.append(key)
            if not value and is_secret(key):
                value = secrets.token_urlsafe(24)
        lines.append(f"{key}={value}")
    written = {line.partition("=")[0] for line in lines}
    lines.extend(f"{key}={value}" for key, value in current.items() if key not in written)
    return "\n".join(lines) + "\n", added


def ensure_env(compose_dir: Path) -> Path:
    """``compose_dir/.env``, written from ``.env.example`` if missing or missing keys; returns its path.

    Values already in ``.env`` are never changed. Raises ConfigError when the example is missing.
    """
    example = compose_dir / EXAMPLE_NAME
    target = compose_dir / ENV_NAME
    if not example.is_file():
        raise ConfigError(f"{example} is missing: cannot write the Compose stack's {ENV_NAME}")
    current = read_env(target) if target.exists() else {}
    text, added = _render(example, current)
    if target.exists() and not added:
        return target
    fd, tmp = tempfile.mkstemp(dir=compose_dir, prefix=".env.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s (%d new keys)", target, len(added))
    return target
