"""Backend selection: the one place that turns settings into a Backend."""

from __future__ import annotations

from lakehouse_core.errors import BackendNotInstalledError, ConfigError
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings

STACK_EXTRA_MODULES = frozenset(
    {"httpx", "docker", "prometheus_api_client", "pyiceberg", "s3fs", "psycopg2", "duckdb_extension_httpfs"}
)
"""Top-level modules of the ``[stack]`` extra: their absence means the extra is not installed."""


def load_backend(settings: LakehouseSettings) -> Backend:
    """Build the Backend for ``settings.mode``."""
    if settings.mode == "embedded":
        if settings.sql_engine == "spark":
            raise ConfigError("sql_engine spark (lakehouse sql --engine spark) needs stack mode")
        from lakehouse_core.backends.embedded import build_embedded

        return build_embedded(settings)
    try:
        from lakehouse_core.backends.stack import build_stack

        return build_stack(settings)
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in STACK_EXTRA_MODULES:
            raise
        raise BackendNotInstalledError(
            f"stack mode needs the [stack] extra: pip install 'lakehouse-tui[stack]' (no module {missing})"
        ) from exc
