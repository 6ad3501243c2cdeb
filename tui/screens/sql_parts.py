"""The SQL screen's history entries and the messages its workers post."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message

from lakehouse_core.models import AsOf, QueryComparison, RefInfo
from lakehouse_core.sqlparse import Vocabulary
from tui.sqlcomplete import Schema
from tui.widgets import fmt


@dataclass(frozen=True)
class HistoryEntry:
    """One executed statement, with the as-of it ran at (None: current)."""

    sql: str
    as_of: AsOf | None
    seconds: float
    rows: int | None
    error: str | None = None

    def prompt(self, number: int) -> Text:
        """The history list's text: a title line, then the whole statement as typed."""
        if self.error is not None:
            outcome = "error"
        else:
            rows = f"{fmt.count(self.rows)} row{'' if self.rows == 1 else 's'}"
            outcome = f"{rows} · {fmt.seconds(self.seconds)}"
        as_of = self.as_of.describe() if self.as_of else "current"
        return Text.assemble((f"#{number} · {outcome} · {as_of}", "bold"), "\n", self.sql)


@dataclass
class SchemaLoaded(Message, bubble=False):
    schema: Schema


@dataclass
class SchemaFailed(Message, bubble=False):
    message: str


@dataclass
class VocabularyLoaded(Message, bubble=False):
    vocabulary: Vocabulary


@dataclass
class RefsLoaded(Message, bubble=False):
    refs: list[RefInfo]


@dataclass
class CompareFinished(Message, bubble=False):
    comparison: QueryComparison
