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
"""

from __future__ import annotations

from collections.abc import Iterator

from pygments.lexer import Lexer
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, _TokenType
from textual.widgets import TextArea

MAX_HIGHLIGHT_CHARS = 50_000

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
    """A SQL code editor (TextArea.code_editor settings) highlighted with Pygments."""

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

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        text = self.text
        if len(text) > MAX_HIGHLIGHT_CHARS:
            return
        for line, start, end, name in sql_highlights(text):
            highlights[line].append((start, end, name))
