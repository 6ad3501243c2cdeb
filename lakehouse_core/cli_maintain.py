"""``lakehouse maintain [--dry-run] [--table T] [--json]``: expire snapshots, remove orphan files,
compact small files; one line per table, then the totals.

Exit codes as the other commands: 0 ok, 1 failed (a table changed meanwhile), 2 bad arguments or
settings, 3 a service is unavailable, 4 the table does not exist, 130 cancelled.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from lakehouse_core.errors import ConfigError, LakehouseError
from lakehouse_core.models import MaintenanceReport, TableMaintenanceResult, TableRef

if TYPE_CHECKING:
    from lakehouse_core.cli import Cli


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``maintain`` on the ``lakehouse`` subcommands."""
    maintain = sub.add_parser(
        "maintain", help="expire old snapshots, remove orphan files, compact small files"
    )
    maintain.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing")
    maintain.add_argument("--table", help="namespace.table (default: every table)")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def describe(result: TableMaintenanceResult | MaintenanceReport, dry_run: bool) -> str:
    """One line: snapshots expired, files removed (bytes), orphans removed (bytes), files compacted."""
    verb = "would be " if dry_run else ""

    def get(name: str) -> int:
        if isinstance(result, MaintenanceReport):
            return result.total(name)
        return int(getattr(result, name))

    line = (
        f"{get('snapshots_expired')} snapshots {verb}expired, "
        f"{get('files_removed')} released files ({_size(get('bytes_removed'))}) and "
        f"{get('orphans_removed')} orphans ({_size(get('orphan_bytes'))}) {verb}removed, "
        f"{get('files_compacted')} small files {verb}compacted into {get('files_written')}"
    )
    young = get("orphans_too_young")
    return line + (f"; {young} recent unreferenced files kept" if young else "")


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
                "totals": {
                    name: report.total(name)
                    for name in (
                        "snapshots_expired", "files_removed", "bytes_removed", "orphans_removed",
                        "orphan_bytes", "orphans_too_young", "files_compacted", "files_written",
                    )
                },
            }
        )
        return 0
    for result in report.tables:
        cli.out.print(f"{result.table}: {describe(result, report.dry_run)}", markup=False, highlight=False)
    prefix = "dry run, nothing changed: " if report.dry_run else "total: "
    cli.out.print(prefix + describe(report, report.dry_run), markup=False, highlight=False)
    return 0
