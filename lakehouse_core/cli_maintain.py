"""``lakehouse maintain [--dry-run] [--table T] [--json]``: expire snapshots, remove orphan files,
compact small files; one line per table, then the totals.

Exit codes as the other commands: 0 ok, 1 failed (a table changed meanwhile), 2 bad arguments or
settings, 3 a service is unavailable, 4 the table does not exist, 130 cancelled.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Protocol

from lakehouse_core.cli_support import CommandContext
from lakehouse_core.errors import ConfigError, LakehouseError
from lakehouse_core.models import TableRef
from lakehouse_core.ports import CancelToken


class Cli(CommandContext, Protocol):
    """What ``maintain`` uses of ``lakehouse_core.cli.Cli``: a command context with progress."""

    def with_progress(self, fn: Callable[[Any, CancelToken], Any]) -> Any: ...


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``maintain`` on the ``lakehouse`` subcommands."""
    maintain = sub.add_parser(
        "maintain", help="expire old snapshots, remove orphan files, compact small files"
    )
    maintain.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing")
    maintain.add_argument("--table", help="namespace.table (default: every table)")


def cmd_maintain(cli: Cli) -> int:
    """Run (or preview) table maintenance through ``Backend.maintenance``."""
    args = cli.args
    table = None
    if args.table:
        try:
            table = TableRef.parse(args.table)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    maintenance = cli.backend.maintenance
    if maintenance is None:
        raise LakehouseError(f"table maintenance is not available in {cli.backend.mode} mode")
    if args.dry_run:
        report = maintenance.plan(table)
    else:
        report = cli.with_progress(lambda sink, cancel: maintenance.run(table, sink, cancel))
    if args.json:
        cli.emit_json(
            {
                "dry_run": report.dry_run,
                "tables": report.tables,
                "totals": report.totals(),
            }
        )
        return 0
    for result in report.tables:
        cli.out.print(f"{result.table}: {result.describe(report.dry_run)}", markup=False, highlight=False)
    prefix = "dry run, nothing changed: " if report.dry_run else "total: "
    cli.out.print(prefix + report.totals().describe(report.dry_run), markup=False, highlight=False)
    return 0
