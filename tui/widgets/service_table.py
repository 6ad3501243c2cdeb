"""The service table of the overview screen."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable

from lakehouse_core.models import ServiceState, ServiceStatus
from tui.widgets import fmt

STATE_STYLE = {
    ServiceState.UP: "bold green",
    ServiceState.DEGRADED: "bold yellow",
    ServiceState.DOWN: "bold red",
    ServiceState.BLOCKED: "bold magenta",
    ServiceState.UNKNOWN: "dim",
    ServiceState.NOT_CONFIGURED: "dim italic",
    ServiceState.DISABLED: "dim italic",
}
INACTIVE = (ServiceState.NOT_CONFIGURED, ServiceState.DISABLED)
"""Services that are not part of this stack: the whole row is dim."""
COLUMNS = ("Service", "State", "Health", "Latency", "Endpoint", "Last error")


def state_text(status: ServiceStatus) -> str:
    """The State column: ``blocked by X`` when a dependency is down, else the state name."""
    if status.blocked_by:
        return f"blocked by {status.blocked_by}"
    return status.state.value


def _cell(text: str, dim: bool) -> Text | str:
    return Text(text, style="dim") if dim else text


class ServiceTable(DataTable[Text | str]):
    """One row per service: name, state, health, latency, endpoint, last error."""

    statuses: reactive[list[ServiceStatus]] = reactive(list, always_update=True)
    """The rows to show (set by the screen when a probe finishes)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label in COLUMNS:
            self.add_column(label, key=label.lower())

    def watch_statuses(self, statuses: list[ServiceStatus]) -> None:
        cursor = self.cursor_row
        self.clear()
        for status in statuses:
            style = STATE_STYLE[ServiceState.BLOCKED if status.blocked_by else status.state]
            dim = status.state in INACTIVE
            self.add_row(
                _cell(status.name, dim),
                Text(state_text(status), style=style),
                _cell(status.detail or "-", dim),
                fmt.millis(status.latency_ms),
                _cell(status.endpoint or "-", dim),
                Text(status.last_error or "", style="red"),
                key=status.name,
            )
        if statuses:
            self.move_cursor(row=min(cursor, len(statuses) - 1))
