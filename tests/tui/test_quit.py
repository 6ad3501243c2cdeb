"""Quitting while a phase runs asks first, cancels the phase and exits once its thread has stopped."""

from __future__ import annotations

import threading
import time
from typing import Any

from lakehouse_core.errors import CancelledError
from lakehouse_core.settings import LakehouseSettings
from tests.tui.conftest import SIZE, settle, text_of, wait_until
from tests.tui.fakes import make_fake_backend
from tui.app import LakehouseApp
from tui.screens.modals import ConfirmActionModal
from tui.screens.overview import OverviewScreen


async def test_quit_during_a_phase_asks_then_cancels_and_waits_for_it(settings: LakehouseSettings) -> None:
    backend = make_fake_backend(orders=1_000_000, chunk=1_000, delay_s=0.01)
    phases: Any = backend.phases
    run = phases.run
    stopped = threading.Event()
    outcome: list[str] = []

    def slow_to_stop(*args: Any, **kwargs: Any) -> Any:
        try:
            return run(*args, **kwargs)
        except CancelledError:
            outcome.append("cancelled")
            raise
        finally:
            time.sleep(0.3)  # a commit finishing after the cancel
            stopped.set()

    phases.run = slow_to_stop
    app = LakehouseApp(backend, settings)
    exits: list[bool] = []
    exit_app = app.exit

    def exit_recorded(*args: Any, **kwargs: Any) -> None:
        exits.append(stopped.is_set())
        exit_app(*args, **kwargs)

    app.exit = exit_recorded  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("y")
        assert backend.gate.entered["run"].wait(5)
        await pilot.pause()
        overview = app.screen
        assert isinstance(overview, OverviewScreen)

        await pilot.press("ctrl+q")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal)
        assert text_of(modal.query_one("#action-question")) == "Quit while phase 1 runs?"
        assert text_of(modal.query_one("#action-detail")).startswith(
            "Ingest raw data to Bronze: cancelled first"
        )
        await pilot.press("n")  # declined: the phase goes on, the app stays
        await pilot.pause()
        assert app.screen is overview and overview.running_phase == 1 and not exits

        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        assert await wait_until(pilot, lambda: bool(exits), 10)
    assert exits == [True], "the app exited once, after the phase's thread had stopped"
    assert outcome == ["cancelled"]
    assert app.return_code == 0


async def test_quit_without_a_running_phase_exits_at_once(settings: LakehouseSettings) -> None:
    app = LakehouseApp(make_fake_backend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmActionModal)
    assert app.return_code == 0
