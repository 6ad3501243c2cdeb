"""Base class of the main screens: typed access to the App and worker-error forwarding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.messages import WorkerFailed

if TYPE_CHECKING:
    from lakehouse_core.ports import Backend
    from lakehouse_core.settings import LakehouseSettings
    from tui.app import LakehouseApp


class LakehouseScreen(Screen[None]):
    """A main screen. Worker errors are forwarded to the App, which notifies once."""

    TITLE_TEXT = ""

    @property
    def lakehouse(self) -> LakehouseApp:
        return self.app  # type: ignore[return-value]

    @property
    def backend(self) -> Backend:
        return self.lakehouse.backend

    @property
    def settings(self) -> LakehouseSettings:
        return self.lakehouse.settings

    def on_screen_resume(self) -> None:
        self.sub_title = f"{self.TITLE_TEXT} · {self.backend.mode}"

    @on(Worker.StateChanged)
    def _forward_worker_error(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.app.post_message(WorkerFailed(worker, worker.error))
