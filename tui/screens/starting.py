"""The first screen of ``lakehouse-tui``: painted at once while the backend is built, or its error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header, Label, LoadingIndicator, Static

from tui.widgets.footer import LakehouseFooter

STARTING_TEXT = "starting… loading settings and opening the backend"


class StartingScreen(Screen[None]):
    """A light splash (one line and a loading indicator); ``show_error`` turns it into the error page."""

    TITLE_TEXT = "Starting"

    def __init__(self) -> None:
        super().__init__(id="starting")
        self.sub_title = "starting…"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(STARTING_TEXT, id="starting-status")
        yield LoadingIndicator(id="starting-spinner")
        yield LakehouseFooter()

    def show_error(self, title: str, message: str) -> None:
        """Replace the spinner by ``title: message`` and say how to quit."""
        self.sub_title = "failed to start"
        self.query_one("#starting-status", Label).update("lakehouse-tui could not start (ctrl+q quits)")
        self.query_one(LoadingIndicator).remove()
        self.mount(Static(f"{title}: {message}", id="starting-error", markup=False), before="Footer")
