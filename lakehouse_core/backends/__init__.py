"""Backend selection: the one place that turns settings into a Backend."""

from __future__ import annotations

from lakehouse_core.errors import BackendNotInstalledError
from lakehouse_core.ports import Backend
from lakehouse_core.settings import LakehouseSettings


def load_backend(settings: LakehouseSettings) -> Backend:
    """Build the Backend for ``settings.mode``."""
    if settings.mode == "embedded":
        from lakehouse_core.backends.embedded import build_embedded

        return build_embedded(settings)
    try:
        from lakehouse_core.backends.stack import build_stack
    except ImportError as exc:  # pragma: no cover - depends on installed extras
        raise BackendNotInstalledError(
            f"stack mode needs: pip install 'lakehouse-tui[stack]' ({exc})"
        ) from exc
    return build_stack(settings)
