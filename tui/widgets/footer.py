"""The footer of every screen: Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class LakehouseFooter(Footer):
    """Textual's Footer rebuilds all its key widgets whenever the screen's bindings are refreshed: on
    every focus change and every return from a dialog. That rebuild (mount and style ~15 widgets) was
    the largest frame when a phase starts after its confirmation closes. This one rebuilds only when
    the shown keys (or their state) differ from the ones on screen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _signature(self, screen: Screen[Any]) -> tuple[Any, ...]:
        keys = tuple(
            (binding.key, binding.key_display, binding.description, binding.action, enabled, tooltip)
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )
        return keys, self.show_command_palette, self.compact

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            signature = self._signature(screen)
            if signature == self._shown:
                return
            self._shown = signature
        super().bindings_changed(screen)
