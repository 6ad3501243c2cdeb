"""The Overview's log: every line wrapped whole at the pane's width, wrapped again when the pane resizes.

A RichLog renders a line once, at ``max(pane width, min_width)``; with the default ``min_width`` (78)
a narrower pane showed each wrapped piece cut at its edge, losing the rest of it. Here lines wrap at
the visible width (a stable scrollbar gutter keeps that width when the vertical scrollbar appears),
and the plain lines are kept so a resize wraps them again instead of cutting them.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import RichLog


class PhaseLog(RichLog):
    """A RichLog of plain text lines (never markup) that never cuts a line."""

    DEFAULT_CSS = """
    PhaseLog {
        scrollbar-gutter: stable;
        overflow-x: hidden;
    }
    """

    def __init__(self, *, max_lines: int = 2000, **kwargs: Any) -> None:
        super().__init__(max_lines=max_lines, wrap=True, markup=False, highlight=False, min_width=1, **kwargs)
        self._texts: deque[str] = deque(maxlen=max_lines)
        self._wrapped_at = 0

    @property
    def texts(self) -> list[str]:
        """The lines written so far (the last ``max_lines``), as written."""
        return list(self._texts)

    def add(self, line: str) -> None:
        """Append ``line`` (wrapped at the pane's width; shown literally)."""
        self._texts.append(line)
        self.write(Text(line))

    def on_resize(self, event: events.Resize) -> None:
        # RichLog's own handler (called after this one) renders what was written before the size was known
        width = self.scrollable_content_region.width
        if not width or width == self._wrapped_at:
            return
        first = not self._wrapped_at
        self._wrapped_at = width
        if first:
            return
        auto_scroll = self.auto_scroll
        self.clear()
        for line in self._texts:
            self.write(Text(line), scroll_end=False)
        if auto_scroll:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
