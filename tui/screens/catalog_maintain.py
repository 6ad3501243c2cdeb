"""Table maintenance from the Catalog (``M``): a dry run, then the run after a confirmation."""

from __future__ import annotations

from textual import on, work

from tui.messages import MaintenanceDone, MaintenancePlanned
from tui.screens.base import LakehouseScreen
from tui.screens.modals import ConfirmActionModal


class MaintainingScreen(LakehouseScreen):
    """A screen that maintains every table through ``Backend.maintenance`` (``lakehouse maintain``)."""

    def action_refresh(self) -> None:
        """Show the catalog again once maintenance is done (the subclass reloads what it shows)."""

    def action_maintain(self) -> None:
        """Dry-run maintenance of every table, show it, run it when confirmed (``lakehouse maintain``)."""
        if self.backend.maintenance is None:
            self.notify(f"table maintenance is not available in {self.backend.mode} mode", severity="warning")
            return
        self.plan_maintenance()

    @work(thread=True, exclusive=True, group="catalog-maintain", exit_on_error=False)
    def plan_maintenance(self) -> None:
        assert self.backend.maintenance is not None
        self.post_message(MaintenancePlanned(self.backend.maintenance.plan(None)))

    @on(MaintenancePlanned)
    def confirm_maintenance(self, message: MaintenancePlanned) -> None:
        report = message.report
        lines = [f"{t.table}: {t.describe(True)}" for t in report.tables]
        lines.append("total: " + report.totals().describe(True))

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.run_maintenance()

        self.app.push_screen(
            ConfirmActionModal("Maintain every table?", "\n".join(lines), "Maintain"), confirmed
        )

    @work(thread=True, exclusive=True, group="catalog-maintain", exit_on_error=False)
    def run_maintenance(self) -> None:
        assert self.backend.maintenance is not None
        self.post_message(MaintenanceDone(self.backend.maintenance.run(None)))

    @on(MaintenanceDone)
    def maintenance_done(self, message: MaintenanceDone) -> None:
        self.notify(message.report.totals().describe(False), title="Maintenance done")
        self.action_refresh()
