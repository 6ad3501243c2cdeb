"""SqlEditor: Pygments highlighting through TextArea's highlight map (pins that private contract)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.widgets.sql_editor import MAX_HIGHLIGHT_CHARS, SqlEditor, sql_highlights


def names(text: str) -> list[tuple[int, str, str]]:
    """(line, highlighted text, name) for ``text``."""
    lines = [line.encode() for line in text.split("\n")]
    return [
        (line, lines[line][start:end].decode(), name) for line, start, end, name in sql_highlights(text)
    ]


def test_keywords_strings_numbers_comments() -> None:
    found = names("SELECT 'it''s', 42 FROM t -- done")
    assert (0, "SELECT", "keyword") in found and (0, "FROM", "keyword") in found
    assert (0, "42", "number") in found and (0, "-- done", "comment") in found
    assert "".join(text for _, text, name in found if name == "string") == "'it''s'"


def test_multi_line_tokens_and_utf8_byte_columns() -> None:
    found = names("SELECT 'é' /* a\nb */ FROM x")
    def comment(line: int) -> str:
        return "".join(text for n, text, name in found if n == line and name == "comment")

    assert comment(0) == "/* a" and comment(1) == "b */"
    assert (1, "FROM", "keyword") in found  # column counted in bytes after a 2-byte character
    assert any(line == 0 and "é" in text and name == "string" for line, text, name in found)
    # a line's tail is (start, None): highlighted to the end of the line
    spans = sql_highlights("SELECT 'é' /* a\nb */")
    tails = [(line, end) for line, _, end, name in spans if name == "comment"]
    assert (0, None) in tails


def test_unterminated_string_does_not_raise() -> None:
    assert names("SELECT 'open")[0] == (0, "SELECT", "keyword")


class EditorApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SqlEditor("", id="editor")


async def test_highlights_follow_edits_and_huge_texts_stay_plain() -> None:
    app = EditorApp()
    async with app.run_test() as pilot:
        editor = app.query_one(SqlEditor)
        editor.focus()
        await pilot.press(*"select 1")
        await pilot.pause()
        assert editor.text == "select 1"
        assert (0, 6, "keyword") in editor._highlights[0] and (7, 8, "number") in editor._highlights[0]
        editor.text = "select 1\n" * (MAX_HIGHLIGHT_CHARS // 9 + 1)
        await pilot.pause()
        assert not any(editor._highlights.values())
