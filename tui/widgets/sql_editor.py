"""SqlEditor: the SQL panel's code editor, highlighted by Pygments' SQL lexer.

Textual highlights with tree-sitter; its SQL grammar is a 13.6 MB shared library whose parse tables
cost the process ~29 MB of RSS as soon as the editor exists. Pygments is already installed (Rich
needs it) and its ``PostgresLexer`` (DuckDB's SQL is PostgreSQL's, plus extensions) costs ~2 MB and
lexes a screenful of SQL in well under a millisecond. The editor keeps TextArea's behaviour
and theme; only the highlight map is built from Pygments' tokens. Texts over ``MAX_HIGHLIGHT_CHARS``
are shown plain, so a huge paste never makes a keystroke slow.

The highlight map is TextArea's private ``_highlights`` (line -> [(start byte, end byte, name)]),
rebuilt by ``_build_highlight_map`` after every edit; ``tests/tui/test_sql_editor.py`` pins that
contract for the Textual version in pyproject.toml.

Completion: TextArea has none of its own. A CompletionList opens while a word is typed (or on
ctrl+space) with what the editor's ``completer`` proposes for the word before the cursor; up/down move
in it, tab or enter put the highlighted proposal in place of the word, escape closes it. Every other
key edits as in TextArea, which closes or refilters the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pygments.lexer import Lexer
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, _TokenType
from textual import events, on
from textual.css.query import NoMatches
from textual.geometry import Offset
from textual.widgets import TextArea

from tui.sqlcomplete import Completion, word_before
from tui.widgets.completion_list import CompletionList

MAX_HIGHLIGHT_CHARS = 50_000

Completer = Callable[[str, str], list[Completion]]
"""Proposals for the word before the cursor, given the word and the text before it (see
tui.sqlcomplete.complete)."""

# Pygments token type -> the highlight names of Textual's TextArea themes (first match wins)
HIGHLIGHT_NAMES: tuple[tuple[_TokenType, str], ...] = (
    (Comment, "comment"),
    (String, "string"),
    (Number, "number"),
    (Keyword, "keyword"),
    (Name.Builtin, "type.builtin"),
    (Name.Function, "function"),
    (Operator, "operator"),
    (Punctuation, "punctuation.bracket"),
)

_lexer: Lexer | None = None


def _sql_lexer() -> Lexer:
    global _lexer
    if _lexer is None:
        from pygments.lexers.sql import PostgresLexer

        _lexer = PostgresLexer(stripnl=False, ensurenl=False)
    return _lexer


def _name_of(token: _TokenType) -> str | None:
    for kind, name in HIGHLIGHT_NAMES:
        if token in kind:
            return name
    return None


def sql_highlights(text: str) -> Iterator[tuple[int, int, int | None, str]]:
    """``(line, start byte, end byte or None for the line's end, highlight name)`` for ``text``."""
    line, column = 0, 0  # column in UTF-8 bytes of the current line
    for _, token, value in _sql_lexer().get_tokens_unprocessed(text):
        name = _name_of(token)
        parts = value.split("\n")
        for i, part in enumerate(parts):
            size = len(part.encode())
            last = i == len(parts) - 1
            if name is not None and part:
                yield line, column, (column + size) if last else None, name
            if last:
                column += size
            else:
                line, column = line + 1, 0


class SqlEditor(TextArea):
    """A SQL code editor (TextArea.code_editor settings) highlighted with Pygments, completing the word
    before the cursor with ``completer``'s proposals."""

    def __init__(self, text: str = "", *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(
            text,
            language=None,
            theme="monokai",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            id=id,
        )
        self.completer: Completer | None = None
        self._word = ""
        self._word_key = False  # the last key typed a word character (or erased one while completing)

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        text = self.text
        if len(text) > MAX_HIGHLIGHT_CHARS:
            return
        for line, start, end, name in sql_highlights(text):
            highlights[line].append((start, end, name))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the screen's own f7 binding selects all: shown in the footer in the screen's order
        return False if action == "select_all" else super().check_action(action, parameters)

    @property
    def completion_list(self) -> CompletionList | None:
        """The screen's CompletionList (None when the editor is used without one)."""
        try:
            return self.screen.query_one(CompletionList)
        except NoMatches:
            return None

    @property
    def completing(self) -> bool:
        popup = self.completion_list
        return popup is not None and bool(popup.display)

    async def _on_key(self, event: events.Key) -> None:
        popup = self.completion_list
        if popup is not None and popup.display:
            handled = True
            if event.key == "down":
                popup.action_cursor_down()
            elif event.key == "up":
                popup.action_cursor_up()
            elif event.key in ("tab", "enter"):
                self.accept_completion()
            elif event.key == "escape":
                self.close_completions()
            else:
                handled = False
            if handled:
                self._word_key = False
                event.stop()
                event.prevent_default()
                return
        character = event.character if event.is_printable else None
        word_key = character is not None and (character.isalnum() or character in "_.")
        self._word_key = word_key or (event.key == "backspace" and self.completing)
        if character is not None and not word_key:
            self.close_completions()
        await super()._on_key(event)

    @on(TextArea.Changed)
    def _edited(self) -> None:
        """After a word key the list opens or is refiltered; other edits close it. Keys can arrive faster
        than their Changed messages: each handler sees the last key and the final text."""
        if self._word_key:
            self.open_completions()
        elif self.completing:
            self.close_completions()

    @on(TextArea.SelectionChanged)
    def _moved(self) -> None:
        if self.completing and not self._word_key:
            self.open_completions()

    def on_blur(self) -> None:
        self._word_key = False
        self.close_completions()

    def open_completions(self, *, explicit: bool = False) -> None:
        """Propose completions of the word before the cursor; without ``explicit``, only for a word
        that is not already the one proposal."""
        popup = self.completion_list
        if popup is None or self.completer is None or not self.has_focus:
            return
        row, column = self.cursor_location
        word = word_before(self.document.get_line(row), column)
        if self.selected_text or not (word or explicit):
            self.close_completions()
            return
        before = self.get_text_range((0, 0), (row, column - len(word)))
        proposals = self.completer(word, before)
        if not proposals or (not explicit and len(proposals) == 1 and proposals[0].text == word):
            self.close_completions()
            return
        self._word = word
        cursor = self.cursor_screen_offset
        popup.show(proposals, Offset(max(0, cursor.x - len(word)), cursor.y + 1))

    def close_completions(self) -> None:
        popup = self.completion_list
        if popup is not None and popup.display:
            popup.hide()

    def accept_completion(self) -> None:
        """Put the highlighted proposal in place of the word before the cursor."""
        popup = self.completion_list
        chosen = popup.chosen if popup is not None else None
        self.close_completions()
        if chosen is None:
            return
        row, column = self.cursor_location
        start = (row, max(0, column - len(self._word)))
        self.replace(chosen.text, start, (row, column), maintain_selection_offset=False)

    def insert_at_cursor(self, text: str) -> None:
        """Insert ``text`` in place of the selection (at the cursor), the cursor after it."""
        start, end = sorted(self.selection)
        self.replace(text, start, end, maintain_selection_offset=False)
