"""The completion list of the SQL editor: proposals drawn over the screen under the word being
completed; it never takes the focus (the editor moves in it with up/down)."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Offset
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.sqlcomplete import Completion

LIST_WIDTH = 44


class CompletionList(OptionList, can_focus=False):
    """The proposals, the first highlighted; ``chosen`` is the highlighted one."""

    DEFAULT_CSS = f"""
    CompletionList {{
        overlay: screen;
        position: absolute;
        constrain: inside inside;
        display: none;
        width: {LIST_WIDTH};
        height: auto;
        max-height: 8;
        border: none;
        padding: 0;
        background: $panel;
    }}
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.proposals: list[Completion] = []

    def show(self, proposals: list[Completion], at: Offset) -> None:
        """Fill the list with ``proposals`` (the first highlighted) and open it at ``at`` (screen cells)."""
        self.proposals = proposals
        self.clear_options()
        self.add_options([Option(self._prompt(p)) for p in proposals])
        self.highlighted = 0
        self.styles.offset = (at.x, at.y)
        self.display = True

    @staticmethod
    def _prompt(proposal: Completion) -> Text:
        kind_width = min(len(proposal.kind), 16)
        label = proposal.label[: LIST_WIDTH - kind_width - 4]
        gap = " " * max(1, LIST_WIDTH - 2 - len(label) - kind_width)
        return Text.assemble(label, gap, (proposal.kind[:kind_width], "dim"))

    def hide(self) -> None:
        self.display = False
        self.proposals = []

    @property
    def chosen(self) -> Completion | None:
        index = self.highlighted
        return self.proposals[index] if index is not None and index < len(self.proposals) else None
