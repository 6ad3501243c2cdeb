"""Modal dialogs: confirm a phase (showing its plan) or an action, ask for a name or a path, pick one of
a list, show logs."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from lakehouse_core.models import PhasePlan


class ConfirmModal(ModalScreen[bool]):
    """Base of the yes/no dialogs: y/enter confirms, n/escape cancels; the confirm button has focus."""

    BINDINGS = [
        Binding("y,enter", "confirm", "Confirm", id="modal.confirm"),
        Binding("n,escape", "cancel", "Cancel", id="modal.cancel"),
    ]
    CONFIRM_ID = "confirm"

    def on_mount(self) -> None:
        self.query_one(f"#{self.CONFIRM_ID}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == self.CONFIRM_ID)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ConfirmPhaseModal(ConfirmModal):
    """Shows exactly what a phase will do; dismisses True when the user confirms."""

    CONFIRM_ID = "confirm-run"

    def __init__(self, plan: PhasePlan) -> None:
        super().__init__(classes="modal")
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(f"Run phase {self.plan.phase}: {self.plan.title}?", id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                for index, task in enumerate(self.plan.tasks, start=1):
                    yield Static(f"{index}. [b]{task.name}[/b] — {task.description}", classes="plan-task")
                for detail in self.plan.details:
                    yield Static(f"• {detail}", classes="plan-detail")
            with Horizontal(classes="buttons"):
                yield Button("Run (y)", variant="primary", id="confirm-run")
                yield Button("Cancel (n)", id="confirm-cancel")


class ConfirmActionModal(ConfirmModal):
    """Asks before a disruptive action (stop, restart); dismisses True when the user confirms."""

    CONFIRM_ID = "action-confirm"

    def __init__(self, question: str, detail: str = "", confirm_label: str = "Confirm") -> None:
        super().__init__(classes="modal")
        self.question = question
        self.detail = detail
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="dialog"):
            yield Label(self.question, id="action-question")
            if self.detail:
                yield Static(self.detail, id="action-detail", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="warning", id="action-confirm")
                yield Button("Cancel (n)", id="action-cancel")


class LogsModal(ModalScreen[None]):
    """The last log lines of one service."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="modal.close")]

    def __init__(self, service: str, lines: list[str], empty_reason: str) -> None:
        super().__init__(classes="modal")
        self.service = service
        self.lines = lines
        self.empty_reason = empty_reason

    def compose(self) -> ComposeResult:
        with Vertical(id="logs-dialog", classes="dialog"):
            yield Label(f"Logs of {self.service} (last {len(self.lines)} lines)", id="logs-title")
            yield RichLog(id="logs-body", markup=False, wrap=True, max_lines=5000)
            yield Label("escape: close", classes="hint")

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in self.lines or [self.empty_reason]:
            log.write(line)
        log.focus()

    def action_close(self) -> None:
        self.dismiss(None)


class InputModal(ModalScreen[str | None]):
    """Asks for one line of text (a ref name, an export path); None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="modal")
        self.prompt = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="input-dialog", classes="dialog"):
            yield Label(self.prompt, id="input-title")
            yield Input(self.value, placeholder=self.placeholder, id="input-value")
            yield Label("enter: OK · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)
        else:
            self.notify("a value is required", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceModal(ModalScreen[str | None]):
    """Picks one of ``choices`` (value, label); None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__(classes="modal")
        self.prompt = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-dialog", classes="dialog"):
            yield Label(self.prompt, id="choice-title")
            yield OptionList(*(Option(label, id=value) for value, label in self.choices), id="choice-list")
            yield Label("enter: choose · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
