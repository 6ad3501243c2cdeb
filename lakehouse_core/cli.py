"""Headless CLI ``lakehouse``: the same core as the TUI, for scripts and CI.

Exit codes (``lakehouse_core.cli_support.EXIT_CODES_HELP``, also the epilog of ``--help``): 0 ok,
1 the operation failed, 2 bad arguments or settings, 3 a service is unavailable, 4 not found, 5 busy
(another run holds the run lock), 70 internal error, 74 I/O error (disk full), 130 cancelled. Every
error is one line on stderr. ``setup`` prints one line per thing it made sure of (created or already
there); it exits 1 when a service refuses it, 3 when one is down.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn, get_args

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from lakehouse_core import cli_maintain, cli_nessie, cli_report, cli_runs, cli_stack
from lakehouse_core.cli_support import (
    EXIT_BUSY,
    EXIT_CANCELLED,
    EXIT_CODES_HELP,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_IO,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Guard,
    check_data_dir,
    check_lakehouse,
    check_port,
    console,
    setup_logging,
)
from lakehouse_core.errors import (
    ConfigError,
    LakehouseError,
)
from lakehouse_core.models import AsOf, ProgressEvent, TableRef
from lakehouse_core.paths import sqlite_file
from lakehouse_core.ports import Backend, CancelToken
from lakehouse_core.redact import Redactor
from lakehouse_core.runs import result_to_dict, to_jsonable
from lakehouse_core.settings import LakehouseSettings, RunSource, load_settings

logger = logging.getLogger("lakehouse")

__all__ = [
    "EXIT_BUSY",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_IO",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "main",
]


class RichProgress:
    """A ProgressSink drawing one rich bar per task (stderr, so --json stdout stays clean)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def emit(self, event: ProgressEvent) -> None:
        with self._lock:
            key = f"{event.phase}.{event.task}"
            if event.kind == "start":
                if key in self.tasks:  # tasks and the step runner may both announce a start
                    return
                self.tasks[key] = self.progress.add_task(f"[{event.phase}] {event.task}", total=event.total)
            elif event.kind == "advance" and key in self.tasks:
                note = f"  {event.message}" if event.message else ""  # rows/s and ETA of long tasks
                self.progress.update(self.tasks[key], completed=event.done, total=event.total,
                                     description=f"[{event.phase}] {event.task}{note}")
            elif event.kind == "finish" and key in self.tasks:
                task = self.tasks[key]
                self.progress.update(
                    task, completed=1, total=1, description=f"[{event.phase}] {event.task} ✓"
                )
            elif event.kind == "log" and event.message and not event.message.startswith("FAILED: "):
                # a failure is the command's one error line at the end, not a line here too
                self.progress.console.print(f"  {event.task}: {event.message}")


class Cli:
    """Runs one parsed command; output to ``out`` (stdout), diagnostics and progress to ``err``."""

    def __init__(
        self, args: argparse.Namespace, settings: LakehouseSettings, redactor: Redactor | None = None
    ) -> None:
        self.args = args
        self.settings = settings
        redact = redactor or Redactor()
        # data is printed literally (never as Rich markup) and without the settings' secrets
        self.out = console(lambda: sys.stdout, redact)
        self.err = console(lambda: sys.stderr, redact)
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from lakehouse_core.backends import load_backend

            self._backend = load_backend(self.settings)
        return self._backend

    def emit_json(self, payload: Any) -> None:
        self.out.print_json(json.dumps(to_jsonable(payload)))

    def with_progress(self, fn: Callable[[Any, CancelToken], Any]) -> Any:
        cancel = CancelToken()
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=self.err,
                transient=self.args.json,
                disable=self.args.quiet,
            ) as progress:
                return fn(RichProgress(progress), cancel)
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def run_lock(self, what: str) -> Iterator[None]:
        """Hold the data dir's run lock (phases take it again: the lock is reentrant per thread)."""
        from lakehouse_core.phases.lock import RunLock

        lock = RunLock.for_key(self.settings.data_path, "data-dir")
        with lock.hold(what, wait=self.settings.run_wait, timeout_s=self.settings.run_wait_timeout_s):
            yield

    # ------------------------------------------------------------ commands
    def cmd_generate(self) -> int:
        from lakehouse_core.paths import DataPaths
        from lakehouse_core.pipeline.raw import refuse_to_replace
        from lakehouse_core.pipeline.tasks import generate_sample_data

        paths = DataPaths(self.settings.data_path).ensure()
        if not self.args.overwrite:
            refuse_to_replace(paths)
        result = self.with_progress(
            lambda sink, cancel: generate_sample_data(
                paths,
                orders=self.settings.orders,
                seed=self.settings.seed,
                defect_rate=self.settings.defect_rate,
                generate="always",
                progress=sink,
                cancel=cancel,
            )
        )
        if self.args.json:
            self.emit_json(result)
        else:
            rows = ", ".join(f"{k} {v:,}" for k, v in result.rows.items())
            self.out.print(f"generated {rows} in {result.seconds:.2f}s -> {paths.raw}")
        return EXIT_OK

    def cmd_phase(self) -> int:
        return self._run_phases([self.args.number])

    def cmd_run(self) -> int:
        return self._run_phases([1, 2, 3, 4])

    def _run_phases(self, phases: Sequence[int]) -> int:
        runner = self.backend.phases  # built before the progress display: its errors are one line
        del runner
        results = []
        for phase in phases:
            result = self.with_progress(functools.partial(self._run_one, phase))
            results.append(result)
            if not self.args.json:
                self._print_phase(result)
        if self.args.json:
            self.emit_json(
                [result_to_dict(r) for r in results] if len(results) > 1 else result_to_dict(results[0])
            )
        return EXIT_OK

    def _run_one(self, phase: int, sink: Any, cancel: CancelToken) -> Any:
        return self.backend.phases.run(phase, sink, cancel)

    def _print_phase(self, result: Any) -> None:
        self.out.print(
            Text.assemble(
                (f"phase {result.phase}", "bold"), f" ok in {result.seconds:.2f}s (run {result.run_id})"
            )
        )
        for task in result.tasks:
            self.out.print(f"  {task.name:<24} {task.seconds:7.2f}s  {task.detail}")
        if result.rows_per_layer:
            self.out.print("  rows: " + ", ".join(f"{k}={v:,}" for k, v in result.rows_per_layer.items()))
        if result.quality_failures:
            self.out.print(f"  quarantined rows: {result.quality_failures:,}")
        for snap in result.snapshots:
            self.out.print(f"  snapshot {snap.table}: {snap.snapshot_id} ({snap.operation})")
        cli_report.print_report(self.out, result)

    def cmd_sql(self) -> int:
        as_of = AsOf.parse(self.args.as_of or "")
        result = self.backend.sql.execute(self.args.query, limit=self.args.limit, as_of=as_of)
        if self.args.json:
            self.emit_json(
                {
                    "engine": result.engine,
                    "columns": result.columns,
                    "types": result.types,
                    "rows": result.tuples(),
                    "truncated": result.truncated,
                    "elapsed_s": result.elapsed_s,
                }
            )
            return EXIT_OK
        table = Table(
            *result.columns, title=f"{result.row_count} rows via {result.engine} ({result.elapsed_s:.3f}s)"
        )
        for row in result.tuples():
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        self.out.print(table)
        if result.truncated:
            self.err.print(Text(f"result truncated at the fetch limit ({self.args.limit:,} rows)", "yellow"))
        return EXIT_OK

    def cmd_tables(self) -> int:
        catalog = self.backend.catalog
        rows = []
        for ns in catalog.list_namespaces():
            for table in catalog.list_tables(ns):
                detail = catalog.table_detail(table)
                spec = (
                    ", ".join(f"{p.transform}({p.source})" for p in detail.partition_spec) or "unpartitioned"
                )
                rows.append(
                    {
                        "table": table.identifier,
                        "rows": detail.row_count,
                        "partitioning": spec,
                        "snapshot": detail.current_snapshot_id,
                    }
                )
        if self.args.json:
            self.emit_json(rows)
            return EXIT_OK
        grid = Table("table", "rows", "partitioning", "current snapshot")
        for r in rows:
            grid.add_row(str(r["table"]), f"{r['rows']:,}", str(r["partitioning"]), str(r["snapshot"]))
        self.out.print(grid)
        return EXIT_OK

    def cmd_snapshots(self) -> int:
        try:
            ref = TableRef.parse(self.args.table)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        snaps = self.backend.catalog.snapshots(ref)
        if self.args.json:
            self.emit_json(snaps)
            return EXIT_OK
        table = Table("snapshot id", "committed at", "operation", "+rows", "-rows", "total rows", "run id")
        for s in snaps:
            table.add_row(
                str(s.snapshot_id),
                s.committed_at.isoformat(timespec="seconds"),
                s.operation,
                f"{s.added_rows:,}",
                f"{s.deleted_rows:,}",
                f"{s.total_rows:,}",
                s.summary.get("lakehouse.run-id", ""),
            )
        self.out.print(table)
        return EXIT_OK

    def cmd_status(self) -> int:
        statuses = self.backend.status.statuses()
        if self.args.json:
            self.emit_json({"mode": self.backend.mode, "services": statuses})
        else:
            table = Table(
                "service",
                "state",
                "latency",
                "endpoint",
                "detail / last error",
                title=f"mode: {self.backend.mode}",
            )
            for s in statuses:
                latency = f"{s.latency_ms:.1f} ms" if s.latency_ms is not None else "-"
                table.add_row(s.name, s.state.value, latency, s.endpoint, s.last_error or s.detail)
            self.out.print(table)
        down = [s for s in statuses if s.state.counts_as_down]
        return EXIT_UNAVAILABLE if down and self.args.strict else EXIT_OK

    def cmd_setup(self) -> int:
        """Create what the services lack (Dremio's first user and sources); idempotent."""
        setup = self.backend.setup
        steps = setup.setup() if setup is not None else []
        if self.args.json:
            self.emit_json({"mode": self.backend.mode, "steps": steps})
        elif not steps:
            self.out.print(f"nothing to set up in {self.backend.mode} mode")
        for step in steps if not self.args.json else ():
            self.out.print(str(step), markup=False)
        return EXIT_OK

    def cmd_maintain(self) -> int:
        return cli_maintain.cmd_maintain(self)

    def cmd_exporter(self) -> int:
        """Serve the persisted run results of the data dir (either mode) for Prometheus."""
        import time

        from lakehouse_core.observability import PipelineMetrics, start_exporter
        from lakehouse_core.paths import DataPaths
        from lakehouse_core.runs import RunStore

        metrics = PipelineMetrics(gold_freshness_limit_s=self.settings.prometheus.gold_freshness_limit_s)
        try:
            start_exporter(metrics, self.args.port, self.args.addr)
        except OSError as exc:  # the port is taken, the address is not ours...
            raise LakehouseError(
                f"cannot serve metrics on {self.args.addr}:{self.args.port}: {exc.strerror or exc}",
                title="Exporter failed",
            ) from exc
        self.err.print(f"serving pipeline metrics on http://{self.args.addr}:{self.args.port}/metrics")
        store = RunStore(DataPaths(self.settings.data_path).runs)
        for _ in range(self.args.iterations or sys.maxsize):
            for result in store.load_all().values():
                metrics.record_phase(result)
            metrics.sample()
            time.sleep(self.args.interval)
        return EXIT_OK


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


def _as_of_arg(text: str) -> str:
    """``--as-of`` as typed, once ``AsOf.parse`` reads it (a date that does not exist is a usage error)."""
    try:
        AsOf.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _fetch_limit(text: str) -> int:
    """``--limit``: a whole number of rows, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of ``lakehouse``."""
    parser: argparse.ArgumentParser = CliParser(
        prog="lakehouse",
        description="Headless control of the lakehouse.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate raw CSVs (customers, products, orders)")
    gen.add_argument("--orders", type=int, help="number of orders (default 5000)")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--defect-rate", type=float, help="fraction of rows given a realistic defect")
    gen.add_argument("--overwrite", action="store_true", help="replace the raw CSVs already in raw/")

    ph = sub.add_parser("phase", help="run one phase")
    ph.add_argument("number", type=int, choices=[1, 2, 3, 4])
    run = sub.add_parser("run", help="run phases 1-4")
    for command in (ph, run):
        command.add_argument("--orders", type=int)
        command.add_argument("--defect-rate", type=float)
        command.add_argument(
            "--wait", action="store_true", help="when another run holds the run lock, wait for it"
        )
        command.add_argument("--wait-timeout", type=float, metavar="S", help="with --wait: give up after S s")
        command.add_argument(
            "--source",
            dest="run_source",
            choices=get_args(RunSource),
            help="who starts the run, recorded in its commits (default: settings.run_source, cli)",
        )

    sql = sub.add_parser("sql", help="run one SQL statement")
    sql.add_argument("query")
    sql.add_argument(
        "--as-of",
        type=_as_of_arg,
        help="snapshot id, ISO time (2026-01-01T12:00:00, naive = UTC) or ref (branch/tag; stack: any "
        "Nessie branch, tag or commit hash; ref:NAME and snapshot:ID say which)",
    )
    sql.add_argument("--limit", type=_fetch_limit, default=10_000, help="fetch limit in rows (default 10000)")
    sql.add_argument(
        "--engine",
        dest="sql_engine",
        choices=("auto", "spark"),
        help="stack mode: auto (Dremio, else DuckDB over Nessie's Iceberg REST) or spark (Spark Connect, "
        "settings.spark.connect_url); default: settings.sql_engine",
    )

    sub.add_parser("tables", help="list Iceberg tables")
    snaps = sub.add_parser("snapshots", help="list a table's snapshots")
    snaps.add_argument("table", help="namespace.table, e.g. bronze.orders")
    st = sub.add_parser("status", help="health of every service/component")
    st.add_argument("--strict", action="store_true", help="exit 3 when a service is down")
    sub.add_parser(
        "setup", help="create what the services lack (Dremio's first user and sources); idempotent"
    )
    cli_maintain.add_parser(sub)
    exp = sub.add_parser("exporter", help="serve pipeline metrics for Prometheus")
    exp.add_argument("--port", type=int, help="default: settings.prometheus.exporter_port")
    exp.add_argument("--addr", default="127.0.0.1")
    exp.add_argument("--interval", type=float, default=5.0)
    exp.add_argument("--iterations", type=int, default=0, help=argparse.SUPPRESS)
    cli_runs.add_parsers(sub)
    nested = cli_nessie.add_parsers(sub) + cli_stack.add_parser(sub)
    for command in [*sub.choices.values(), *nested]:  # global options are accepted after the command too
        add_global_options(command)
    return parser


GLOBAL_DEFAULTS: dict[str, Any] = {
    "mode": None, "data_dir": None, "json": False, "quiet": False, "verbose": False
}


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The options every command takes, before or after its name. Their defaults are SUPPRESSed so that
    a value given on one side is not reset by the other parser; ``parse_args`` fills in the defaults."""
    unset = argparse.SUPPRESS
    parser.add_argument("--mode", choices=["embedded", "stack"], default=unset,
                        help="backend (default: settings)")
    parser.add_argument("--data-dir", default=unset, help="data directory (default: ./data)")
    parser.add_argument("--json", action="store_true", default=unset, help="machine-readable output (stdout)")
    parser.add_argument("-q", "--quiet", action="store_true", default=unset, help="no progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", default=unset, help="debug logging to stderr")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, global options filled in wherever they were given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


_DATA_DIR_WRITERS = ("generate", "phase", "run")
"""Commands that create the data dir (and what is in it) when it is missing."""
_RUN_READERS = ("runs", "publish", "discard")
"""Commands on the data dir's runs, in either mode."""
_LAKEHOUSE_READERS = ("status", "tables", "snapshots", "sql", "maintain")
"""Commands on the embedded lakehouse of the data dir: on a directory that is none, exit 4."""
_LOCKED = {"generate": "generate", "run": "phases 1-4"}
"""Commands holding the data dir's run lock throughout (``run``: no other run slips in between its
phases); each phase takes the lock(s) of its runner too."""


def _settings_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Settings given on the command line (checked first: their errors name the option)."""
    if getattr(args, "orders", None) is not None and args.orders <= 0:
        raise ConfigError("--orders must be a positive number")
    if getattr(args, "defect_rate", None) is not None and not 0 <= args.defect_rate <= 1:
        raise ConfigError("--defect-rate must be between 0 and 1")
    if getattr(args, "wait_timeout", None) is not None and args.wait_timeout <= 0:
        raise ConfigError("--wait-timeout must be a positive number of seconds")
    if getattr(args, "port", None) is not None:
        check_port(args.port)
    if args.data_dir is not None and not args.data_dir.strip():
        raise ConfigError("--data-dir is empty: give a directory")
    overrides: dict[str, Any] = {}
    if args.mode:
        overrides["mode"] = args.mode
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    for name in ("orders", "seed", "defect_rate"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "wait", False):
        overrides["run_wait"] = True
    if getattr(args, "wait_timeout", None) is not None:
        overrides["run_wait_timeout_s"] = args.wait_timeout
    if getattr(args, "sql_engine", None):
        overrides["sql_engine"] = args.sql_engine
    if getattr(args, "run_source", None):  # `--source` of phase/run (merge's SOURCE is another thing)
        overrides["run_source"] = args.run_source
    return overrides


def _command(args: argparse.Namespace, redactor: Redactor) -> int:
    settings = load_settings(**_settings_overrides(args))
    redactor.forms = Redactor.for_settings(settings).forms
    if args.command == "exporter" and args.port is None:
        args.port = settings.prometheus.exporter_port
        check_port(args.port)
    if args.command in _DATA_DIR_WRITERS:
        check_data_dir(settings.data_path, create=True, write=True)
    elif args.command in _RUN_READERS or settings.mode == "embedded" and args.command in _LAKEHOUSE_READERS:
        check_lakehouse(settings.data_path, sqlite_file(settings.catalog_url))
    elif args.command == "exporter" or settings.mode == "embedded" and args.command not in cli_stack.COMMANDS:
        check_data_dir(settings.data_path, create=False, write=False)
    cli = Cli(args, settings, redactor)
    with cli.run_lock(_LOCKED[args.command]) if args.command in _LOCKED else contextlib.nullcontext():
        if args.command in cli_runs.COMMANDS:
            return cli_runs.COMMANDS[args.command](cli)
        if args.command in cli_nessie.COMMANDS:
            return cli_nessie.COMMANDS[args.command](cli)
        if args.command in cli_stack.COMMANDS:
            return cli_stack.COMMANDS[args.command](cli)
        return int(getattr(cli, f"cmd_{args.command}")())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lakehouse``; returns the exit code. Never raises (except argparse's exit 2
    on a malformed command line): every error is one line on stderr and an exit code."""
    args = parse_args(argv)
    redactor = Redactor()  # filled with the secrets once the settings are loaded
    log_path = setup_logging(args.verbose, redactor)
    guard = Guard(console(lambda: sys.stderr, redactor), redactor, log_path)
    return guard.run(lambda: _command(args, redactor))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
