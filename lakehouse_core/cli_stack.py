"""``lakehouse stack up|down|ps|logs|env``: the Compose stack through ``docker compose``.

``up`` writes ``compose/.env`` (random secrets) when missing, then builds, starts and waits for every
service (or those named), one line per progress event on stderr. ``down`` never removes volumes
unless ``--volumes``. ``ps`` prints every service: state, health, ports and what blocks it.
``logs SERVICE [--follow]`` prints a service's log (Ctrl+C ends ``--follow``). ``env`` writes
``compose/.env`` and prints its path. Exit codes as the other commands: 0 ok, 1 Compose failed,
2 bad settings or Compose file, 3 the Docker engine does not answer, 4 no such service, 130 cancelled.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Protocol

from rich.console import Console
from rich.table import Table

from lakehouse_core.cli_support import EXIT_OK, CommandContext
from lakehouse_core.compose.env import EXAMPLE_NAME, ensure_env
from lakehouse_core.compose.project import ComposeProject, project_from_settings
from lakehouse_core.models import ProgressEvent
from lakehouse_core.ports import CancelToken
from lakehouse_core.settings import LakehouseSettings


class Cli(CommandContext, Protocol):
    """What ``stack`` uses of ``lakehouse_core.cli.Cli``: the settings and stderr too."""

    settings: LakehouseSettings
    err: Console


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    """Register ``stack`` and its actions; returns the nested parsers (they take the global options)."""
    stack = sub.add_parser("stack", help="drive the Compose stack (docker compose up/down/ps/logs)")
    actions = stack.add_subparsers(dest="stack_action", required=True, metavar="{up,down,ps,logs,env}")
    up = actions.add_parser("up", help="build, start and wait for the stack (writes compose/.env first)")
    up.add_argument("services", nargs="*", help="only these services (and what they depend on)")
    up.add_argument("--no-build", action="store_true", help="do not build images")
    down = actions.add_parser("down", help="stop and remove the containers (volumes kept)")
    down.add_argument("--volumes", action="store_true", help="also remove the named volumes (data lost)")
    actions.add_parser("ps", help="every service: state, health, ports, blocked by")
    logs = actions.add_parser("logs", help="a service's log")
    logs.add_argument("service")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl+C ends)")
    logs.add_argument("--tail", type=int, default=100, help="lines of the past (default 100)")
    actions.add_parser("env", help="write compose/.env with random secrets if missing; print its path")
    return list(actions.choices.values())


class LineProgress:
    """Prints one line per event of ``up`` (build steps when done, container states)."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self._lock = threading.Lock()

    def emit(self, event: ProgressEvent) -> None:
        if event.kind == "start" or self.cli.args.quiet:
            return
        text = f"{event.task} ✓" if event.kind == "finish" else f"{event.task}: {event.message}"
        with self._lock:
            self.cli.err.print(text, markup=False, highlight=False)


def _cancel_on_sigint() -> tuple[CancelToken, object]:
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    return cancel, previous


def cmd_stack(cli: Cli) -> int:
    args = cli.args
    docker = cli.settings.docker
    if args.stack_action == "env":
        cli.out.print(str(ensure_env(docker.compose_dir)), markup=False, highlight=False)
        return EXIT_OK
    project = project_from_settings(docker)
    if args.stack_action == "ps":
        return _ps(cli, project)
    if args.stack_action == "down":
        project.down(volumes=args.volumes)
        cli.err.print(f"stack {project.project} down" + (" (volumes removed)" if args.volumes else ""))
        return EXIT_OK
    cancel, previous = _cancel_on_sigint()
    try:
        if args.stack_action == "up":
            # a stack without credentials has none; a given env file is the caller's
            if docker.env_file is None and (docker.compose_dir / EXAMPLE_NAME).is_file():
                ensure_env(docker.compose_dir)
            project.up(
                args.services or None, build=not args.no_build, progress=LineProgress(cli), cancel=cancel
            )
            cancel.raise_if_cancelled()
            return _ps(cli, project)
        for line in project.logs(args.service, follow=args.follow, tail=args.tail, cancel=cancel):
            cli.out.print(line, markup=False, highlight=False, soft_wrap=True)
        return EXIT_OK
    finally:
        signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]


def _ps(cli: Cli, project: ComposeProject) -> int:
    rows = project.states()
    if cli.args.json:
        cli.emit_json(rows)
        return EXIT_OK
    table = Table(
        "service", "state", "health", "ports", "blocked by", title=f"Compose project {project.project}"
    )
    for row in rows:
        state = row.state + (f" ({row.exit_code})" if row.exit_code is not None else "")
        table.add_row(row.name, state, row.health or "-", ", ".join(row.ports) or "-", row.blocked_by or "")
    cli.out.print(table)
    return EXIT_OK


COMMANDS = {"stack": cmd_stack}
