"""The thin Textual App: modes (one per screen), global keys, keymap, themes, error toasts."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from lakehouse_core.errors import CancelledError, LakehouseError
from tui.messages import WorkerFailed

if TYPE_CHECKING:
    from lakehouse_core.ports import Backend
    from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

SCREENS: dict[str, str] = {
    "overview": "tui.screens.overview:OverviewScreen",
    "catalog": "tui.screens.catalog:CatalogScreen",
    "sql": "tui.screens.sql:SqlScreen",
    "metrics": "tui.screens.metrics:MetricsScreen",
}
"""Mode name -> screen class, imported on first use (a faster first paint)."""


def screen_class(mode: str) -> type[Screen[None]]:
    """The screen class of ``mode`` (imports its module)."""
    module, _, name = SCREENS[mode].partition(":")
    cls: type[Screen[None]] = getattr(import_module(module), name)
    return cls


def _make_screen(mode: str) -> Callable[[], Screen[None]]:
    return lambda: screen_class(mode)()


class LakehouseApp(App[None]):
    """Overview, Catalog, SQL and Metrics screens over one Backend."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere still find it
    TITLE = "lakehouse-tui"
    MODES = {mode: _make_screen(mode) for mode in SCREENS}
    DEFAULT_MODE = "overview"
    BINDINGS = [
        Binding("f1", "switch_mode('overview')", "Overview", id="app.overview"),
        Binding("f2", "switch_mode('catalog')", "Catalog", id="app.catalog"),
        Binding("f3", "switch_mode('sql')", "SQL", id="app.sql"),
        Binding("f4", "switch_mode('metrics')", "Metrics", id="app.metrics"),
        Binding("question_mark,f12", "help", "Help", id="app.help"),
        Binding("ctrl+t", "cycle_theme", "Theme", id="app.theme"),
    ]

    def __init__(self, backend: Backend, settings: LakehouseSettings) -> None:
        super().__init__()
        self.backend = backend
        self.settings = settings
        self.set_keymap(settings.tui.keymap)

    def on_ready(self) -> None:
        # Objects alive after the first frame (modules, widgets) live for the whole session: move them out
        # of the cyclic GC's reach so full collections, which hold the GIL, stay short while workers run.
        gc.freeze()

    def on_mount(self) -> None:
        theme = self.settings.tui.theme
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.notify(f"unknown theme {theme!r}; using {self.theme}", severity="warning")

    # ------------------------------------------------------------------ errors
    @on(WorkerFailed)
    def worker_failed(self, message: WorkerFailed) -> None:
        """The one place that turns worker errors into notifications."""
        error = message.error
        if not isinstance(error, LakehouseError):
            logger.error("worker %s failed", message.worker.name, exc_info=error)
        title = getattr(error, "title", None) or "Error"
        severity: SeverityLevel = "warning" if isinstance(error, CancelledError) else "error"
        self.notify(str(error) or type(error).__name__, title=title, severity=severity, timeout=10)

    # ------------------------------------------------------------------ help, themes, palette
    def binding_rows(self) -> list[tuple[str, str, str, str]]:
        """``(screen, keys, action, binding id)`` for every binding, after the keymap."""
        rows: list[tuple[str, str, str, str]] = []
        scopes: list[tuple[str, list[Binding]]] = [("App", list(self.BINDINGS))]  # type: ignore[arg-type]
        for mode in SCREENS:
            cls = screen_class(mode)
            scopes.append((getattr(cls, "TITLE_TEXT", mode), list(cls.BINDINGS)))  # type: ignore[arg-type]
        for scope, bindings in scopes:
            for binding in bindings:
                rows.append((scope, self.keys_of(binding), binding.description, binding.id or ""))
        rows.append(("App", "^p", "Command palette", ""))
        rows.append(("App", "^q", "Quit", ""))
        return rows

    def keys_of(self, binding: Binding) -> str:
        """The keys of ``binding`` as shown to the user (keymap applied)."""
        keys = self._keymap.get(binding.id, binding.key) if binding.id else binding.key
        return ", ".join(self.get_key_display(Binding(key.strip(), "")) for key in keys.split(","))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.binding_rows()))

    def action_cycle_theme(self) -> None:
        names = sorted(self.available_themes)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", title="Theme")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action != "help":
                yield SystemCommand(
                    binding.description, f"{self.keys_of(binding)}", partial(self.run_action, binding.action)
                )
        yield SystemCommand("Help", "List every key binding", self.action_help)
        for mode in SCREENS:
            cls = screen_class(mode)
            title = getattr(cls, "TITLE_TEXT", mode)
            for binding in cls.BINDINGS:
                assert isinstance(binding, Binding)
                yield SystemCommand(
                    f"{title}: {binding.description}",
                    f"key {self.keys_of(binding)} on the {title} screen",
                    partial(self.run_in_mode, mode, binding.action),
                )

    async def run_in_mode(self, mode: str, action: str) -> None:
        """Switch to ``mode`` (when needed) and run one of its screen's actions."""
        if self.current_mode != mode:
            await self.switch_mode(mode)
        await self.screen.run_action(action)
