"""What the SQL editor completes and the schema browser shows: the catalog's namespaces, tables and
columns (read once, in a worker) and DuckDB's keywords and functions. No Textual here."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import FieldInfo, Namespace, TableRef

if TYPE_CHECKING:
    from lakehouse_core.ports import CatalogBrowser
    from lakehouse_core.sqlparse import Vocabulary

logger = logging.getLogger(__name__)

MAX_COMPLETIONS = 50
_WORD = re.compile(r"[A-Za-z0-9_.]*$")
_TABLE_PLACE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|DESCRIBE|SUMMARIZE)\s+$", re.I)
_TABLE_AFTER = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)(?:\s+(?:AS\s+)?([A-Za-z_]\w*))?", re.I)


@dataclass(frozen=True)
class SchemaTable:
    """One table and its columns (none, with ``error``, when its schema could not be read)."""

    table: TableRef
    columns: tuple[FieldInfo, ...]
    error: str | None = None


@dataclass(frozen=True)
class Schema:
    """Every namespace of the catalog and the tables in them, in the catalog's order."""

    namespaces: tuple[Namespace, ...]
    tables: tuple[SchemaTable, ...]

    def tables_in(self, namespace: Namespace) -> list[SchemaTable]:
        return [t for t in self.tables if t.table.namespace == namespace]

    def find(self, name: str) -> SchemaTable | None:
        """The table named ``ns.table`` or, when only one table has that name, ``table``."""
        wanted = name.lower()
        exact = [t for t in self.tables if t.table.identifier.lower() == wanted]
        bare = [t for t in self.tables if t.table.name.lower() == wanted]
        found = exact or (bare if len(bare) == 1 else [])
        return found[0] if found else None


def load_schema(catalog: CatalogBrowser) -> Schema:
    """Namespaces, tables and columns with their types. A table whose schema cannot be read is kept,
    without columns, with the catalog's message; a namespace that cannot be listed raises."""
    namespaces = tuple(catalog.list_namespaces())
    tables: list[SchemaTable] = []
    for namespace in namespaces:
        for ref in catalog.list_tables(namespace):
            try:
                tables.append(SchemaTable(ref, tuple(catalog.table_detail(ref).fields)))
            except LakehouseError as exc:
                logger.warning("schema of %s not read: %s", ref.identifier, exc)
                tables.append(SchemaTable(ref, (), str(exc)))
    return Schema(namespaces, tuple(tables))


@dataclass(frozen=True)
class Completion:
    """One proposal: ``label`` is shown with ``kind``; ``text`` replaces the word before the cursor."""

    label: str
    kind: str
    text: str


def word_before(line: str, column: int) -> str:
    """The identifier (dots included) that ends at ``column`` of ``line``."""
    match = _WORD.search(line[:column])
    return match.group() if match else ""


def tables_named(statement: str, schema: Schema, keywords: frozenset[str]) -> dict[str, SchemaTable]:
    """Tables after FROM/JOIN in ``statement`` by every name that refers to them there (lower case):
    ``ns.table``, ``table`` and the alias."""
    named: dict[str, SchemaTable] = {}
    for match in _TABLE_AFTER.finditer(statement):
        found = schema.find(match.group(1))
        if found is None:
            continue
        named[found.table.identifier.lower()] = found
        named.setdefault(found.table.name.lower(), found)
        alias = match.group(2)
        if alias and alias.lower() not in keywords:
            named[alias.lower()] = found
    return named


def _columns(tables: list[SchemaTable], prefix: str = "") -> list[Completion]:
    seen: set[str] = set()
    out: list[Completion] = []
    for table in tables:
        for column in table.columns:
            if column.name not in seen:
                seen.add(column.name)
                out.append(Completion(column.name, column.type, prefix + column.name))
    return out


def _members(head: str, schema: Schema, named: dict[str, SchemaTable]) -> list[Completion]:
    """What may follow ``head.``: the tables of a namespace, the columns of a table or alias."""
    lowered = head.lower()
    tables = [t for t in schema.tables if ".".join(t.table.namespace).lower() == lowered]
    if tables:
        return [Completion(t.table.name, "table", t.table.identifier) for t in tables]
    table = named.get(lowered) or schema.find(head)
    return _columns([table], head + ".") if table else []


def _words(
    schema: Schema, vocabulary: Vocabulary | None, named: dict[str, SchemaTable], table_place: bool
) -> list[Completion]:
    """Every word, in the order they are proposed: the statement's columns (every column when it names
    no table), tables, namespaces, keywords, functions; tables first where a table name goes."""
    in_statement = list({id(t): t for t in named.values()}.values())
    columns = _columns(in_statement or list(schema.tables))
    tables = [Completion(t.table.identifier, "table", t.table.identifier) for t in schema.tables]
    tables += [Completion(".".join(ns), "namespace", ".".join(ns)) for ns in schema.namespaces]
    out = tables + columns if table_place else columns + tables
    if vocabulary is not None:
        out += [Completion(k.upper(), "keyword", k.upper()) for k in vocabulary.keywords]
        out += [Completion(f, "function", f) for f in vocabulary.functions]
    return out


def _matches(candidate: Completion, prefix: str) -> bool:
    label = candidate.label.lower()
    if label.startswith(prefix):
        return True
    return candidate.kind == "table" and label.partition(".")[2].startswith(prefix)


def complete(
    word: str,
    statement: str,
    schema: Schema,
    vocabulary: Vocabulary | None,
    before: str = "",
    limit: int = MAX_COMPLETIONS,
) -> list[Completion]:
    """Proposals for ``word`` (see word_before) typed in ``statement`` after the text ``before``: exact
    matches first, then the words that start with it (a table also by its name without the namespace;
    tables first after FROM, JOIN...); after a dot, the tables of the namespace or the columns of the
    table or alias before it."""
    keywords = frozenset(vocabulary.keywords) if vocabulary else frozenset()
    named = tables_named(statement, schema, keywords)
    if "." in word:
        head, _, prefix = word.rpartition(".")
        candidates = _members(head, schema, named)
    else:
        prefix = word
        candidates = _words(schema, vocabulary, named, bool(_TABLE_PLACE.search(before[-200:])))
    prefix = prefix.lower()
    matching = [c for c in candidates if _matches(c, prefix)]
    exact = [c for c in matching if c.label.lower() == prefix or c.text.lower() == word.lower()]
    ordered = exact + [c for c in matching if c not in exact]
    unique: dict[tuple[str, str], Completion] = {}
    for candidate in ordered:
        unique.setdefault((candidate.text, candidate.kind), candidate)
    return list(unique.values())[:limit]
