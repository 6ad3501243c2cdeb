"""The first screen of ``lakehouse-tui``: painted at once while the backend is built, or its error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, LoadingIndicator, Static

STARTING_TEXT = "starting… loading settings and opening the backend"


class StartingScreen(Screen[None]):
    """A light splash (a loading indicator and one line); ``show_error`` turns it into the error page."""

    TITLE_TEXT = "Starting"

    def __init__(self) -> None:
        super().__init__(id="starting")

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="starting-box"):
            yield Label(STARTING_TEXT, id="starting-status")
            yield LoadingIndicator(id="starting-spinner")
            yield Static("", id="starting-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "starting…"
        self.query_one("#starting-error").display = False

    def show_error(self, title: str, message: str) -> None:
        """Replace the spinner by ``title: message`` and say how to quit."""
        self.sub_title = "failed to start"
        self.query_one("#starting-status", Label).update("lakehouse-tui could not start (ctrl+q quits)")
        self.query_one(LoadingIndicator).display = False
        error = self.query_one("#starting-error", Static)
        error.update(f"{title}: {message}")
        error.display = True
