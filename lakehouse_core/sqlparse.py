"""SQL scripts read by parsers: statements and their spans, what kind they are, which tables they name.

Spans come from sqlglot's DuckDB tokenizer: DuckDB's ``extract_statements`` gives no offsets and
returns some statements rewritten (``PRAGMA version`` comes back as ``SELECT * FROM
pragma_version();``). The kind of a statement is the ``duckdb.StatementType`` DuckDB's own parser
gives it. Table references come from sqlglot's syntax tree (``exp.Table`` nodes).

sqlglot and duckdb are imported on first use: the TUI imports this module at start-up and
sqlglot's dialects alone take about 0.2 s to import.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.tokens import Token, Tokenizer

logger = logging.getLogger(__name__)

_SIDE_EFFECT_FUNCTIONS = frozenset({"nextval", "setval"})
"""Functions that change state although the statement calling them is a SELECT."""


@dataclass(frozen=True)
class Statement:
    """One statement of a script: ``script[start:end] == sql``, leading comments included, no ``;``."""

    start: int
    end: int
    sql: str


@functools.cache
def _tokenizer_class(dialect: str) -> type[Tokenizer]:
    """The dialect's tokenizer without "commands": sqlglot reads the rest of a statement that
    starts with EXPLAIN, CALL, SHOW... as one string token; here it is tokens like any other."""
    from sqlglot.dialects.dialect import Dialect

    base = Dialect.get_or_raise(dialect).tokenizer_class
    return type(f"{base.__name__}WithoutCommands", (base,), {"COMMANDS": set()})


def tokenize(sql: str, dialect: str = "duckdb") -> list[Token]:
    """sqlglot's tokens of ``sql`` (comments and the insides of literals are no tokens).

    An unterminated string, quoted name or comment ends the list: the tokens before it are returned.
    """
    return _tokens(sql, dialect)[0]


def _tokens(sql: str, dialect: str) -> tuple[list[Token], bool]:
    """The tokens of ``sql`` and whether the tokenizer reached its end."""
    from sqlglot.errors import TokenError

    tokenizer = _tokenizer_class(dialect)(dialect=dialect)
    try:
        return tokenizer.tokenize(sql), True
    except TokenError:
        return list(tokenizer.tokens), False


def split_statements(script: str) -> list[Statement]:
    """The non-empty statements of ``script``, split on the ``;`` tokens (never inside a literal,
    a quoted name or a comment). Text after the last ``;`` is a statement too; an unterminated
    literal or comment runs to the end of the script. Comment-only pieces are left out."""
    from sqlglot.tokens import TokenType

    statements: list[Statement] = []
    tokens, complete = _tokens(script, "duckdb")
    start, has_tokens = 0, False
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if has_tokens:
                statements.append(_statement(script, start, token.start))
            start, has_tokens = token.end + 1, False
        else:
            has_tokens = True
    if has_tokens or (not complete and script[start:].strip()):
        statements.append(_statement(script, start, len(script)))
    return statements


def _statement(script: str, start: int, end: int) -> Statement:
    piece = script[start:end]
    begin = start + len(piece) - len(piece.lstrip())
    stop = start + len(piece.rstrip())
    return Statement(begin, stop, script[begin:stop])


def statement_kind(sql: str) -> str | None:
    """The name of DuckDB's ``StatementType`` for ``sql`` (``"SELECT"`` for SHOW, DESCRIBE,
    SUMMARIZE, VALUES and FROM-first too); ``"MULTI"`` when it holds several statements; None when
    DuckDB cannot parse it."""
    import duckdb

    try:
        parsed = duckdb.extract_statements(sql)
    except duckdb.Error:
        return None
    if not parsed:
        return None
    return "MULTI" if len(parsed) > 1 else parsed[0].type.name


def is_read_only(sql: str) -> bool:
    """True when running ``sql`` twice is harmless: it holds statements and each of them only reads.

    Reading: what DuckDB parses as a SELECT (WITH, VALUES, FROM-first, SHOW, DESCRIBE, SUMMARIZE and
    the PRAGMAs DuckDB turns into a SELECT, such as ``PRAGMA version``) unless it calls ``nextval`` or
    ``setval``, and EXPLAIN (EXPLAIN ANALYZE runs its statement: only when that one reads). A
    statement DuckDB cannot parse is not read-only: it runs once and DuckDB reports the error.
    """
    statements = split_statements(sql)
    return bool(statements) and all(_reads_only(s.sql) for s in statements)


def _reads_only(sql: str) -> bool:
    import duckdb

    try:
        parsed = duckdb.extract_statements(sql)
    except duckdb.Error:
        return False
    if len(parsed) != 1:  # e.g. PIVOT without an IN list: CREATE TYPE, then SELECT
        return False
    kind = parsed[0].type
    tokens = tokenize(sql)
    if kind == duckdb.StatementType.SELECT:
        return not _calls(tokens, _SIDE_EFFECT_FUNCTIONS)
    if kind == duckdb.StatementType.EXPLAIN:
        analysed = _explain_analyze_target(tokens)
        return analysed is None or (analysed >= 0 and _reads_only(sql[analysed:]))
    return False


def _calls(tokens: list[Token], names: frozenset[str]) -> bool:
    from sqlglot.tokens import TokenType

    return any(
        token.text.lower() in names and after.token_type == TokenType.L_PAREN
        for token, after in zip(tokens, tokens[1:], strict=False)
        if token.token_type != TokenType.IDENTIFIER
    )


def _explain_analyze_target(tokens: list[Token]) -> int | None:
    """Offset of the statement an ``EXPLAIN ANALYZE`` (or ``EXPLAIN (ANALYZE, ...)``) runs;
    None for a plain EXPLAIN; -1 when ANALYZE is not followed by a statement."""
    from sqlglot.tokens import TokenType

    analyze, i = False, 1
    if len(tokens) > 1 and tokens[1].text.upper() in ("ANALYZE", "ANALYSE"):
        analyze, i = True, 2
    elif len(tokens) > 1 and tokens[1].token_type == TokenType.L_PAREN:
        depth = 0
        for i in range(1, len(tokens)):
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[i].token_type, 0)
            analyze = analyze or tokens[i].text.upper() in ("ANALYZE", "ANALYSE")
            if depth == 0:
                break
        i += 1
    if not analyze:
        return None
    return tokens[i].start if i < len(tokens) else -1


# ---------------------------------------------------------------- the read-only gate of the engines
READ_ONLY_MESSAGE = "read-only: {kind} statements are not allowed"

_SHARED_KINDS = frozenset({"LOAD", "SET", "CALL", "VACUUM", "PRAGMA", "MULTI", "INVALID"})
"""DuckDB statement types several commands share (INSTALL and LOAD are LOAD; RESET, USE and
``PRAGMA threads=1`` are SET; CHECKPOINT is CALL; ANALYZE is VACUUM): a refusal names the
statement's first keyword instead."""

_DREMIO_READ_COMMANDS = frozenset({"SHOW", "DESCRIBE", "DESC", "EXPLAIN"})
"""Dremio statements sqlglot keeps as opaque commands that only read (Dremio's EXPLAIN PLAN FOR
plans its statement without running it)."""


def refused_kind(sql: str, dialect: str = "duckdb") -> str | None:
    """The kind (``"COPY"``, ``"CREATE"``, ``"INSTALL"``...) of the first statement of ``sql`` that
    does not only read; None when each statement reads (or there is none).

    ``"duckdb"``: DuckDB's parser decides; a read is what it parses as a SELECT (WITH, VALUES,
    FROM-first, SHOW, DESCRIBE, SUMMARIZE, the PRAGMAs that show something) or an EXPLAIN (an
    EXPLAIN ANALYZE when its statement reads). ``VERSION AS OF`` clauses, which DuckDB cannot
    parse, are left out of what it reads. ``"dremio"``, ``"spark"`` (any other): sqlglot's dialect
    of that name decides (DuckDB cannot parse Dremio's ``AT SNAPSHOT``/``AT BRANCH``); a read is a
    query, DESCRIBE, SHOW or EXPLAIN; a statement sqlglot cannot parse reads only when it starts
    with SELECT, VALUES or one of those (the engine then reports the syntax error).

    Raises:
        duckdb.Error: (``"duckdb"``) DuckDB cannot parse a statement; its parser's message.
    """
    for statement in split_statements(sql):
        if dialect == "duckdb":
            kind = _duckdb_write_kind(statement.sql)
        else:
            kind = _sqlglot_write_kind(statement.sql, dialect)
        if kind is not None:
            return kind
    return None


def _leading_word(tokens: list[Token]) -> str:
    words = [t.text.upper() for t in tokens[:2]]
    return words[1] if words[:1] == ["FORCE"] and len(words) > 1 else (words[0] if words else "")


def _duckdb_parse(sql: str) -> list[str]:
    """DuckDB's statement types of ``sql``, retried without ``VERSION AS OF`` clauses."""
    import duckdb

    try:
        return [s.type.name for s in duckdb.extract_statements(sql)]
    except duckdb.Error:
        spans = [(r.end, r.clause_end, "") for r in table_refs(sql, "duckdb") or () if r.version is not None]
        if not spans:
            raise
    return [s.type.name for s in duckdb.extract_statements(replace_spans(sql, spans))]


def _duckdb_write_kind(sql: str) -> str | None:
    kinds = _duckdb_parse(sql)
    if kinds == ["SELECT"]:
        return None
    tokens = tokenize(sql)
    if kinds == ["EXPLAIN"]:
        target = _explain_analyze_target(tokens)
        if target is None:
            return None
        return "EXPLAIN" if target < 0 else _duckdb_write_kind(sql[target:])
    if len(kinds) == 1 and kinds[0].isidentifier() and kinds[0] not in _SHARED_KINDS:
        return kinds[0].replace("_", " ")
    return _leading_word(tokens) or "UNKNOWN"  # e.g. PIVOT without IN: CREATE TYPE, then SELECT


def _sqlglot_write_kind(sql: str, dialect: str) -> str | None:
    import sqlglot
    from sqlglot import exp

    lead = _leading_word(tokenize(sql, dialect))
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except sqlglot.errors.SqlglotError:
        return None if lead in _DREMIO_READ_COMMANDS | {"SELECT", "VALUES"} else lead or "UNKNOWN"
    if not trees:
        return None
    tree = trees[0]
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        return None if word in _DREMIO_READ_COMMANDS else word
    if isinstance(tree, exp.Query | exp.Describe | exp.Values):
        return "SELECT INTO" if tree.args.get("into") else None
    return tree.key.upper() if lead in ("WITH", "(", "") else lead


# ---------------------------------------------------------------- tables named by a statement
@dataclass(frozen=True)
class TableRef:
    """A table a statement names, where in the text, and its time-travel clause.

    Unquoted names are lower-cased, quoted ones kept as written; ``namespace`` is ``""`` when the
    name is not qualified. ``script[start:end]`` is the (qualified) name, ``script[start:clause_end]``
    the name with its time-travel clause.
    """

    namespace: str
    name: str
    start: int
    end: int
    clause_end: int
    version: int | None = None
    """Snapshot id of a ``VERSION AS OF <integer>`` (or ``FOR VERSION AS OF``) clause."""
    time_travel: bool = False
    """The table has a time-travel clause of any form (``AT SNAPSHOT``, ``FOR SYSTEM_TIME AS OF``...)."""
    in_from: bool = False
    """The table is what a FROM or JOIN clause reads (not a target of INSERT, UPDATE, MERGE...)."""


def table_refs(sql: str, dialect: str) -> list[TableRef] | None:
    """The tables ``sql`` names, in text order (CTE names and table functions left out).

    None when sqlglot cannot parse ``sql`` in ``dialect`` or only as an opaque command.
    """
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.SqlglotError as exc:
        logger.debug("sqlglot cannot parse %r: %s", sql, exc)
        return None
    refs: list[TableRef] = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, exp.Command) or tree.find(exp.Command):
            return None
        ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):  # table function: read_parquet(...)
                continue
            if not table.db and not table.catalog and table.name.lower() in ctes:
                continue
            ref = _table_ref(table)
            if ref is None:
                return None
            refs.append(ref)
    return sorted(refs, key=lambda r: r.start)


def _name(identifier: exp.Identifier) -> str:
    return identifier.this if identifier.quoted else identifier.this.lower()


def _table_ref(table: exp.Table) -> TableRef | None:
    from sqlglot import exp

    parts = [p for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p is not None]
    if not all(isinstance(p, exp.Identifier) and "start" in p.meta for p in parts):
        return None
    db = table.args.get("db")
    end = table.this.meta["end"] + 1
    version, clause_end = None, end
    clause = table.args.get("version")
    if isinstance(clause, exp.Version):
        value = clause.expression
        if (
            str(clause.this).upper() == "VERSION"
            and str(clause.args.get("kind", "")).upper() == "AS OF"
            and isinstance(value, exp.Literal)
            and not value.is_string
            and value.this.isdigit()
            and "end" in value.meta
        ):
            version, clause_end = int(value.this), value.meta["end"] + 1
    return TableRef(
        namespace=_name(db) if isinstance(db, exp.Identifier) else "",
        name=_name(table.this),
        start=parts[0].meta["start"],
        end=end,
        clause_end=clause_end,
        version=version,
        time_travel=clause is not None,
        in_from=isinstance(table.parent, (exp.From, exp.Join)) and table.arg_key == "this",
    )


def qualified_names(sql: str, dialect: str = "duckdb") -> list[tuple[str, str]]:
    """Every ``a.b`` pair of names in ``sql``'s tokens (never inside a literal or a comment), with
    the case rules of ``TableRef``: a superset of the tables a statement sqlglot cannot parse names."""
    from sqlglot.tokens import TokenType

    tokens = tokenize(sql, dialect)

    def name(token: Token) -> str | None:
        if token.token_type == TokenType.IDENTIFIER:  # a quoted name
            return token.text
        word = token.text  # a bare word: written as is (a literal's text lost its quotes)
        bare = sql[token.start : token.end + 1] == word and not word[:1].isdigit()
        return word.lower() if bare and word.replace("_", "").replace("$", "").isalnum() else None

    pairs = []
    for left, dot, right in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if dot.token_type == TokenType.DOT:
            a, b = name(left), name(right)
            if a is not None and b is not None:
                pairs.append((a, b))
    return pairs


def replace_spans(sql: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """``sql`` with each ``(start, end, text)`` span replaced (spans must not overlap)."""
    pieces, last = [], 0
    for start, end, text in sorted(edits):
        pieces += [sql[last:start], text]
        last = end
    return "".join(pieces) + sql[last:]


@dataclass(frozen=True)
class Vocabulary:
    """The words of DuckDB's SQL: keywords and function names, lower case, sorted."""

    keywords: tuple[str, ...]
    functions: tuple[str, ...]


@functools.cache
def vocabulary() -> Vocabulary:
    """DuckDB's own ``duckdb_keywords()`` and ``duckdb_functions()`` (named like identifiers), read once
    from an in-memory database (about 0.1 s after DuckDB's import)."""
    import duckdb

    with duckdb.connect() as con:
        keywords = [row[0] for row in con.sql("SELECT keyword_name FROM duckdb_keywords()").fetchall()]
        functions = [
            row[0]
            for row in con.sql(
                "SELECT DISTINCT function_name FROM duckdb_functions() "
                "WHERE function_type IN ('scalar', 'aggregate', 'macro', 'table', 'table_macro') "
                "AND regexp_matches(function_name, '^[a-z][a-z0-9_]*$')"
            ).fetchall()
        ]
    return Vocabulary(tuple(sorted(set(keywords))), tuple(sorted(set(functions))))
