"""The thin Textual App: modes (one per screen), global keys, keymap, themes, error toasts.

``LakehouseApp(backend, settings)`` shows the Overview at once; ``LakehouseApp(factory=...)`` paints a
light Starting screen first and builds the backend in a thread worker after the first frame.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from lakehouse_core.errors import CancelledError, LakehouseError
from tui.messages import BackendFailed, BackendReady, WorkerFailed

if TYPE_CHECKING:
    from lakehouse_core.ports import Backend
    from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)

SCREENS_DEFAULT = "overview"
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


@dataclass(frozen=True)
class RunningPhase:
    """The phase the Overview runs: quitting asks first, cancels it through ``cancel`` and waits."""

    phase: int
    title: str
    cancel: Callable[[], None]


BackendFactory = Callable[[], "tuple[Backend, LakehouseSettings]"]
"""Builds (backend, settings); run in a worker thread after the first frame."""

STARTING_MODE = "starting"
GATED_ACTIONS = frozenset({"switch_mode", "run_in_mode"})


def _make_screen(mode: str) -> Callable[[], Screen[None]]:
    return lambda: screen_class(mode)()


def _make_starting_screen() -> Screen[None]:
    from tui.screens.starting import StartingScreen

    return StartingScreen()


def describe_startup_error(error: BaseException) -> tuple[str, str]:
    """``(title, message)`` of a backend factory failure, for the Starting screen."""
    if isinstance(error, LakehouseError):
        return error.title, str(error)
    if isinstance(error, ImportError):
        return "Missing dependency", f"{error} (install the extra this mode needs)"
    if isinstance(error, ValueError):  # pydantic ValidationError: invalid settings
        return "Invalid settings", str(error)
    return type(error).__name__, str(error) or type(error).__name__


class LakehouseApp(App[None]):
    """Overview, Catalog, SQL and Metrics screens over one Backend."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere still find it
    TITLE = "lakehouse-tui"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        **{mode: _make_screen(mode) for mode in SCREENS},
        STARTING_MODE: _make_starting_screen,
    }
    DEFAULT_MODE = SCREENS_DEFAULT
    BINDINGS = [
        Binding("f1", "switch_mode('overview')", "Overview", id="app.overview"),
        Binding("f2", "switch_mode('catalog')", "Catalog", id="app.catalog"),
        Binding("f3", "switch_mode('sql')", "SQL", id="app.sql"),
        Binding("f4", "switch_mode('metrics')", "Metrics", id="app.metrics"),
        Binding("question_mark,f12", "help", "Help", id="app.help"),
        Binding("ctrl+t", "cycle_theme", "Theme", id="app.theme"),
    ]

    backend: Backend
    settings: LakehouseSettings

    def __init__(
        self,
        backend: Backend | None = None,
        settings: LakehouseSettings | None = None,
        *,
        factory: BackendFactory | None = None,
    ) -> None:
        """Either ``backend`` and ``settings`` (Overview at once) or ``factory`` (Starting screen first)."""
        if (factory is None) == (backend is None or settings is None):
            raise TypeError("LakehouseApp needs either backend and settings, or factory")
        if factory is not None:
            self.DEFAULT_MODE = STARTING_MODE  # type: ignore[misc]  # read by App.__init__: the first screen is the splash
        super().__init__()
        self.factory = factory
        self.startup_error: BaseException | None = None
        self.ready = factory is None
        self._building = False
        self.running_phase: RunningPhase | None = None
        self.quitting = False  # the user confirmed quitting: exit once the running phase has stopped
        if backend is not None and settings is not None:
            self.backend = backend
            self.settings = settings
            self.set_keymap(settings.tui.keymap)

    def on_ready(self) -> None:
        # Objects alive after the first frame (modules, widgets) live for the whole session: move them out
        # of the cyclic GC's reach so full collections, which hold the GIL, stay short while workers run.
        gc.freeze()
        # Workers (phase runs, result materialisation) hold the GIL in Python code; a 1 ms switch
        # interval (default 5 ms) hands it back to the event loop sooner, so frames keep coming.
        sys.setswitchinterval(0.001)
        if self.factory is not None and not self.ready and not self._building:
            self._building = True  # once, even when a subclass's on_ready also calls this one
            self.build_backend(self.factory)

    def on_mount(self) -> None:
        if self.ready:
            self._apply_theme()

    def _apply_theme(self) -> None:
        theme = self.settings.tui.theme
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.notify(f"unknown theme {theme!r}; using {self.theme}", severity="warning")

    # ------------------------------------------------------------------ startup (factory mode)
    @work(thread=True, group="startup", exit_on_error=False)
    def build_backend(self, factory: BackendFactory) -> None:
        """Run the factory off the event loop (settings, imports, catalog open)."""
        try:
            backend, settings = factory()
        except BaseException as exc:  # shown on the Starting screen, never a crash
            logger.error("the backend could not be built", exc_info=exc)
            self.post_message(BackendFailed(exc))
            return
        self.post_message(BackendReady(backend, settings))

    @on(BackendReady)
    async def backend_ready(self, message: BackendReady) -> None:
        self.backend = message.backend
        self.settings = message.settings
        self.set_keymap(message.settings.tui.keymap)
        self.ready = True
        self._apply_theme()
        await self.switch_mode(SCREENS_DEFAULT)
        await self.remove_mode(STARTING_MODE)
        gc.freeze()

    @on(BackendFailed)
    def backend_failed(self, message: BackendFailed) -> None:
        from tui.screens.starting import StartingScreen

        self.startup_error = message.error
        title, text = describe_startup_error(message.error)
        if isinstance(self.screen, StartingScreen):
            self.screen.show_error(title, text)
        self.notify(text, title=title, severity="error", timeout=30)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast; its text is plain by default: engine and settings errors hold brackets
        (pydantic's ``[type=int_parsing, ...]``) that Textual would parse as markup and fail to draw."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Screen switches wait for the backend (disabled in the footer while starting)."""
        if action in GATED_ACTIONS and not self.ready:
            return False
        return super().check_action(action, parameters)

    async def action_quit(self) -> None:
        """Quit; exit code 2 when the backend could not be built. While a phase runs, ask first; on yes
        cancel it and exit once it has stopped (its thread never outlives the screen)."""
        running = self.running_phase
        if running is None:
            self.exit(return_code=2 if self.startup_error is not None else 0)
            return
        if self.quitting:
            self.notify(f"waiting for phase {running.phase} to stop, then quitting", title="Quit")
            return

        def confirmed(ok: bool | None) -> None:
            if ok and self.running_phase is not None:
                self.quitting = True
                self.running_phase.cancel()
                self.notify(f"cancelling phase {running.phase}; quitting once it has stopped", title="Quit")
            elif ok:
                self.exit()

        from tui.screens.modals import ConfirmActionModal

        self.push_screen(
            ConfirmActionModal(
                f"Quit while phase {running.phase} runs?",
                f"{running.title}: cancelled first (what readers see stays as it was before it started); "
                "the app exits once the phase has stopped.",
                "Cancel phase, quit",
            ),
            confirmed,
        )

    def phase_started(self, running: RunningPhase) -> None:
        """The Overview started a phase."""
        self.running_phase = running

    def phase_stopped(self) -> None:
        """The Overview's phase worker ended (its thread is done); exit when the user asked to quit."""
        self.running_phase = None
        if self.quitting:
            self.exit()

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
        if not self.ready:
            self.notify("still starting…", severity="warning")
            return
        if self.current_mode != mode:
            await self.switch_mode(mode)
        await self.screen.run_action(action)
