"""``lakehouse branch|tag [list|create|delete]``, ``lakehouse merge SOURCE [--into T] [--dry-run]``,
``lakehouse log REF``: Nessie's catalog-wide branches and tags (stack mode).

Embedded mode has no catalog-wide refs: branches and tags belong to one Iceberg table. There,
``branch``/``tag list`` lists the tables' refs, ``create`` needs ``--table`` (at ``--snapshot`` or the
head of ``--from``), and ``delete``, ``merge`` and ``log`` say they are Nessie (stack mode) features
(exit 2). Exit codes as the other commands: 0 ok, 1 failed (a merge with conflicts), 2 bad arguments or
the wrong mode, 3 Nessie is unavailable, 4 no such ref, table or snapshot.
"""

from __future__ import annotations

import argparse
from typing import Literal

from rich import box
from rich.table import Table
from rich.text import Text

from lakehouse_core.cli_support import EXIT_FAILED, EXIT_OK, CommandContext
from lakehouse_core.errors import ConfigError
from lakehouse_core.models import MergeResult, RefInfo, TableRef
from lakehouse_core.ports import RefControl

Cli = CommandContext
RefKind = Literal["branch", "tag"]
PLURAL = {"branch": "branches", "tag": "tags"}


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """Register ``branch``, ``tag``, ``merge`` and ``log`` on the ``lakehouse`` sub-parsers; returns
    the nested parsers (``branch create`` ...), which take the global options too."""
    nested: list[argparse.ArgumentParser] = []
    for kind in ("branch", "tag"):
        parser = sub.add_parser(kind, help=f"list, create or delete Nessie {PLURAL[kind]}")
        actions = parser.add_subparsers(dest="ref_action", metavar="{list,create,delete}")
        actions.add_parser("list", help=f"every {kind} (the default when no action is given)")
        create = actions.add_parser("create", help=f"create a {kind} from a ref's head or one of its commits")
        create.add_argument("name")
        create.add_argument("--from", dest="from_ref", metavar="REF", help="source ref (default branch)")
        create.add_argument("--hash", dest="at_hash", metavar="HASH", help="a commit of the source's log")
        create.add_argument("--table", help="embedded: the table the Iceberg ref belongs to")
        create.add_argument("--snapshot", type=int, help="embedded: the table's snapshot id")
        delete = actions.add_parser("delete", help=f"delete a {kind}")
        delete.add_argument("name")
        nested.extend(actions.choices.values())
    merge = sub.add_parser("merge", help="merge a Nessie branch or tag into a branch")
    merge.add_argument("source")
    merge.add_argument("--into", metavar="BRANCH", help="target branch (default: Nessie's default)")
    merge.add_argument("--dry-run", action="store_true", help="show tables changed and conflicts only")
    log = sub.add_parser("log", help="a Nessie ref's commits: author, message, tables touched")
    log.add_argument("ref", help="branch, tag or commit hash")
    log.add_argument("--limit", type=int, default=20, help="at most this many commits (default 20)")
    return nested


def _nessie_only(cli: Cli, what: str) -> RefControl:
    refs = cli.backend.refs
    if refs is None:
        raise ConfigError(
            f"`lakehouse {what}` is a Nessie feature: run it in stack mode (--mode stack); "
            f"{cli.backend.mode} tables have per-table Iceberg refs (`lakehouse branch list`)"
        )
    return refs


def _ref_line(ref: RefInfo) -> Text:
    default = " (default)" if ref.is_default else ""
    table = f" of table {ref.table}" if ref.table else ""
    return Text(f"{ref.kind} {ref.name}{table} at {ref.hash or '-'}{default}")


def _list(cli: Cli, kind: RefKind) -> int:
    control = cli.backend.refs
    refs = control.list_refs() if control is not None else cli.backend.catalog.list_refs()
    refs = [r for r in refs if r.kind == kind]
    if cli.args.json:
        cli.emit_json(refs)
        return EXIT_OK
    per_table = control is None
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("name", *(("table", "snapshot") if per_table else ("hash", "default"))):
        grid.add_column(name, overflow="fold")
    for ref in sorted(refs, key=lambda r: (r.table or "", not r.is_default, r.name)):
        # a commit hash is 64 hex digits: its first 16 name it here (--json gives it whole)
        extra = (ref.table or "", ref.hash) if per_table else (ref.hash[:16], "yes" if ref.is_default else "")
        grid.add_row(Text(ref.name), *(Text(v) for v in extra))
    if per_table:
        cli.out.print(Text(f"{cli.backend.mode} mode: Iceberg {PLURAL[kind]} of single tables"))
    cli.out.print(grid)
    return EXIT_OK


def _create(cli: Cli, kind: RefKind) -> int:
    args = cli.args
    control = cli.backend.refs
    if control is not None:
        if args.table or args.snapshot is not None:
            raise ConfigError(
                f"Nessie {PLURAL[kind]} span every table: create one --from a ref (or --hash a commit "
                "of it), not from a table snapshot"
            )
        ref = control.create_ref(args.name, kind, from_ref=args.from_ref, at_hash=args.at_hash)
    else:
        if not args.table or args.at_hash:
            raise ConfigError(
                f"{cli.backend.mode} mode: {PLURAL[kind]} belong to one Iceberg table: give --table T "
                f"[--snapshot ID | --from REF]; catalog-wide {PLURAL[kind]} (from a ref or a commit) are a "
                "Nessie (stack mode) feature"
            )
        try:
            table = TableRef.parse(args.table)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        ref = cli.backend.catalog.create_ref(
            args.name, kind, table=table, snapshot_id=args.snapshot, from_ref=args.from_ref
        )
    if args.json:
        cli.emit_json(ref)
    else:
        cli.out.print(Text.assemble("created ", _ref_line(ref)))
    return EXIT_OK


def _delete(cli: Cli, kind: RefKind) -> int:
    control = _nessie_only(cli, f"{kind} delete")
    current = next((r for r in control.list_refs() if r.name == cli.args.name), None)
    if current is not None and current.kind != kind:
        raise ConfigError(f"{cli.args.name} is a {current.kind}, not a {kind}")
    ref = control.delete_ref(cli.args.name)
    if cli.args.json:
        cli.emit_json(ref)
    else:
        cli.out.print(Text.assemble("deleted ", _ref_line(ref)))
    return EXIT_OK


def _ref_command(cli: Cli, kind: RefKind) -> int:
    action = cli.args.ref_action or "list"
    if action == "create":
        return _create(cli, kind)
    if action == "delete":
        return _delete(cli, kind)
    return _list(cli, kind)


def cmd_branch(cli: Cli) -> int:
    return _ref_command(cli, "branch")


def cmd_tag(cli: Cli) -> int:
    return _ref_command(cli, "tag")


def merge_lines(result: MergeResult) -> list[str]:
    """What a merge did (or would do): the tables changed and each conflict."""
    verb = "would merge" if result.dry_run else "merged" if result.applied else "did not merge"
    head, *changes = result.change_lines()
    lines = [f"{verb} {result.source} into {result.target}: {head}", *changes]
    if result.applied and result.resultant_hash:
        lines.append(f"  {result.target} is now at {result.resultant_hash}")
    return lines


def cmd_merge(cli: Cli) -> int:
    control = _nessie_only(cli, "merge")
    result = control.merge(cli.args.source, cli.args.into, dry_run=cli.args.dry_run)
    if cli.args.json:
        cli.emit_json(result)
    else:
        for line in merge_lines(result):
            cli.out.print(Text(line))
    return EXIT_OK if result.successful else EXIT_FAILED


def cmd_log(cli: Cli) -> int:
    if cli.args.limit <= 0:
        raise ConfigError("--limit must be a positive number")
    control = _nessie_only(cli, "log")
    commits = control.commit_log(cli.args.ref, limit=cli.args.limit)
    if cli.args.json:
        cli.emit_json(commits)
        return EXIT_OK
    for c in commits:
        when = f"{c.committed_at:%Y-%m-%d %H:%M:%S}" if c.committed_at else "-"
        cli.out.print(Text(f"{c.hash[:12]}  {when}  {c.author or '-'}"))
        cli.out.print(Text(f"    {c.message}"))
        if c.tables:
            cli.out.print(Text(f"    tables: {', '.join(c.tables)}"))
    if not commits:
        cli.out.print(Text(f"{cli.args.ref} has no commits"))
    return EXIT_OK


COMMANDS = {"branch": cmd_branch, "tag": cmd_tag, "merge": cmd_merge, "log": cmd_log}
