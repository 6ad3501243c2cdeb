"""``lakehouse runs``, ``lakehouse publish RUN``, ``lakehouse discard RUN``: the runs of phases 1-2.

Exit codes as ``lakehouse_core.cli``: 0 ok, 1 the run cannot be published/discarded (its state or a
newer publication), 4 no such run.
"""

from __future__ import annotations

import argparse

from rich import box
from rich.table import Table
from rich.text import Text

from lakehouse_core.cli_support import CommandContext
from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import RunInfo
from lakehouse_core.ports import RunControl

EXIT_OK = 0


Cli = CommandContext


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the run commands on the ``lakehouse`` sub-parsers."""
    runs = sub.add_parser("runs", help="list phase 1-2 runs: state, audits, what readers see")
    runs.add_argument("run", nargs="?", help="show one run: its audits and a publish preview")
    pub = sub.add_parser("publish", help="publish an audited run (all tables at once)")
    pub.add_argument("run")
    dis = sub.add_parser("discard", help="drop an unpublished run's outputs (its record stays)")
    dis.add_argument("run")


def _control(cli: Cli) -> RunControl:
    runs = cli.backend.runs
    if runs is None:
        raise LakehouseError(f"{cli.backend.mode} mode keeps no runs")
    return runs


def _line(info: RunInfo) -> str:
    mark = " (published)" if info.published and info.state != "published" else ""
    return f"run {info.run_id} (phase {info.phase}): {info.state}{mark}"


def cmd_runs(cli: Cli) -> int:
    control = _control(cli)
    if cli.args.run:
        info = control.run(cli.args.run)
        preview = control.preview(cli.args.run)
        if cli.args.json:
            cli.emit_json({"run": info, "preview": preview})
            return EXIT_OK
        cli.out.print(Text(_line(info)))
        if info.error:
            cli.out.print(Text(f"  error: {info.error}"))
        for audit in info.audits:
            cli.out.print(Text(f"  {'ok    ' if audit.ok else 'FAILED'} {audit.name}: {audit.detail}"))
        grid = Table("table", "published rows", "run rows", "delta", title="publish preview")
        for t in preview.tables:
            before = "-" if t.published_rows is None else f"{t.published_rows:,}"
            grid.add_row(Text(t.table), before, f"{t.run_rows:,}", f"{t.delta:+,}")
        if preview.tables:
            cli.out.print(grid)
        if not preview.publishable:
            cli.out.print(Text(f"  not publishable: {preview.reason}"))
        return EXIT_OK
    infos = control.list_runs()
    if cli.args.json:
        cli.emit_json(infos)
        return EXIT_OK
    # 80 columns hold every column; audits, last, wraps
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for name in ("run", "phase", "state", "started", "published", "audits"):
        grid.add_column(name, no_wrap=name != "audits")
    for info in infos:
        grid.add_row(
            Text(info.run_id),
            str(info.phase),
            Text(info.state),
            f"{info.started_at:%m-%d %H:%M}",
            "yes" if info.published else "",
            Text(info.audit_summary),
        )
    cli.out.print(grid)
    return EXIT_OK


def _change(cli: Cli, action: str) -> int:
    control = _control(cli)
    info = control.publish(cli.args.run) if action == "publish" else control.discard(cli.args.run)
    if cli.args.json:
        cli.emit_json(info)
    else:
        cli.out.print(Text(_line(info)))
    return EXIT_OK


def cmd_publish(cli: Cli) -> int:
    return _change(cli, "publish")


def cmd_discard(cli: Cli) -> int:
    return _change(cli, "discard")


COMMANDS = {"runs": cmd_runs, "publish": cmd_publish, "discard": cmd_discard}
