"""``ComposeProject``: one Compose project driven through the ``docker compose`` command.

Every call has a timeout; a failure is one lakehouse error: ServiceUnavailableError (the engine does
not answer, or a call timed out), BackendNotInstalledError (no Compose binary), ConfigError (the
Compose file is missing or invalid), NotFoundError (no such service), else LakehouseError with
Compose's own last line. Long calls (``up``, ``logs --follow``) stream their lines and stop when the
CancelToken is triggered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from lakehouse_core.compose.binary import find_compose_binary
from lakehouse_core.compose.parse import (
    ComposeContainer,
    ComposeService,
    UpProgress,
    parse_config,
    parse_ps,
    service_states,
)
from lakehouse_core.errors import (
    CancelledError,
    ConfigError,
    LakehouseError,
    NotFoundError,
    ServiceUnavailableError,
)
from lakehouse_core.models import ComposeServiceState
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import DockerSettings

logger = logging.getLogger(__name__)

Action = Literal["start", "stop", "restart"]


@dataclass(frozen=True)
class Completed:
    """A finished command: exit code and its output."""

    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    """Runs the compose command (tests pass a fake that answers from captured output)."""

    def run(self, argv: Sequence[str], timeout_s: float) -> Completed: ...

    def stream(
        self, argv: Sequence[str], cancel: CancelToken | None, timeout_s: float | None
    ) -> Iterator[str]:
        """Lines of stdout and stderr as they come; afterwards raises ``StreamFailed`` on a non-zero
        exit, CancelledError when cancelled, ``subprocess.TimeoutExpired`` after ``timeout_s``."""
        ...


class StreamFailed(Exception):
    """A streamed command exited non-zero; ``lines`` are its last output lines."""

    def __init__(self, returncode: int, lines: list[str]) -> None:
        super().__init__(f"exit {returncode}")
        self.returncode = returncode
        self.lines = lines


class SubprocessRunner:
    """Runs the command as a child process (no shell)."""

    def run(self, argv: Sequence[str], timeout_s: float) -> Completed:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False)
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    def stream(
        self, argv: Sequence[str], cancel: CancelToken | None, timeout_s: float | None
    ) -> Iterator[str]:
        proc = subprocess.Popen(
            list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        why: list[str] = []

        def watch() -> None:  # ends the child on cancel or timeout (readline below blocks)
            while proc.poll() is None:
                if cancel is not None and cancel.cancelled:
                    why.append("cancelled")
                elif deadline is not None and time.monotonic() > deadline:
                    why.append("timeout")
                if why:
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                    return
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, name="compose-watch", daemon=True)
        watcher.start()
        tail: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail = [*tail[-19:], line]
                yield line
            proc.wait()
        finally:  # also when the consumer stops iterating (GeneratorExit)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            if proc.stdout is not None:
                proc.stdout.close()
        watcher.join(1)
        if "cancelled" in why:
            raise CancelledError("cancelled by user")
        if "timeout" in why:
            raise subprocess.TimeoutExpired(list(argv), timeout_s or 0)
        if proc.returncode:
            raise StreamFailed(proc.returncode, tail)


def describe_failure(command: str, text: str, files: Sequence[Path]) -> LakehouseError:
    """One error for a failed compose command, from its output (the last meaningful line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    low = text.lower()
    last = lines[-1] if lines else "no output"
    if "cannot connect to the docker daemon" in low or "is the docker daemon running" in low:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        return ServiceUnavailableError("docker", f"no Docker engine answers at {where}")
    if "no such service" in low:
        return NotFoundError(f"docker compose {command}: {last}")
    if any(f"open {f}" in text for f in files) or "validating " in low or "yaml:" in low:
        return ConfigError(f"compose file {', '.join(map(str, files))}: {last}")
    return LakehouseError(f"docker compose {command} failed: {last}", title="Compose error")


class ComposeProject:
    """The Compose project ``project`` of ``files`` (the first is the main file, then overrides)."""

    def __init__(
        self,
        files: Sequence[Path],
        project: str,
        *,
        binary: str | None = None,
        runner: Runner | None = None,
        timeout_s: float = 60.0,
        up_timeout_s: float = 3600.0,
        env_file: Path | None = None,
    ) -> None:
        if not files:
            raise ConfigError("no Compose file given")
        self.files = [Path(f) for f in files]
        self.project = project
        self.timeout_s = timeout_s
        self.up_timeout_s = up_timeout_s
        self.env_file = env_file
        self._binary = binary
        self._runner = runner or SubprocessRunner()

    # ------------------------------------------------------------ command line
    def argv(self, *args: str) -> list[str]:
        """The full command line of ``docker compose <args>`` for this project."""
        missing = [f for f in self.files if not f.is_file()]
        if missing:
            raise ConfigError(f"no Compose file at {missing[0]}: set LAKEHOUSE_DOCKER__COMPOSE_FILE")
        cmd = [str(find_compose_binary(self._binary)), "-p", self.project]
        for f in self.files:
            cmd += ["-f", str(f)]
        if self.env_file is not None and self.env_file.is_file():
            cmd += ["--env-file", str(self.env_file)]
        return [*cmd, *args]

    @contextlib.contextmanager
    def _errors(self, command: str, program: str, budget: float | None) -> Iterator[None]:
        """Map a failed, timed-out or unstartable compose command to one lakehouse error."""
        try:
            yield
        except StreamFailed as exc:
            raise describe_failure(command, "\n".join(exc.lines), self.files) from exc
        except subprocess.TimeoutExpired as exc:
            cause = f"docker compose {command} timed out after {budget or 0:.0f}s"
            raise ServiceUnavailableError("docker", cause) from exc
        except FileNotFoundError as exc:
            raise ConfigError(f"cannot run {program}: {exc.strerror or exc}") from exc

    def _run(self, command: str, *args: str, timeout_s: float | None = None) -> str:
        argv = self.argv(*args)
        budget = timeout_s or self.timeout_s
        logger.debug("run %s", " ".join(argv))
        with self._errors(command, argv[0], budget):
            done = self._runner.run(argv, budget)
        if done.returncode != 0:
            raise describe_failure(command, done.stderr or done.stdout, self.files)
        return done.stdout

    # ------------------------------------------------------------ queries
    def config_text(self) -> str:
        """The normalised Compose file (validates it; needs no engine)."""
        return self._run("config", "config")

    def services(self) -> dict[str, ComposeService]:
        """Services of the file by name: depends_on with conditions, published ports, healthcheck."""
        return parse_config(self._run("config", "config", "--format", "json"))

    def ps(self) -> list[ComposeContainer]:
        """Every container of the project, running or not."""
        return parse_ps(self._run("ps", "ps", "--format", "json", "--all"))

    def states(self) -> list[ComposeServiceState]:
        """One row per service: state, health, ports, depends_on and what blocks it."""
        return service_states(self.services(), self.ps())

    # ------------------------------------------------------------ lifecycle
    def up(
        self,
        services: Sequence[str] | None = None,
        *,
        build: bool = True,
        wait: bool = True,
        progress: ProgressSink = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> None:
        """``up -d`` (building images, waiting for health), each output line a progress event.

        Raises:
            LakehouseError: Compose failed (its last error line); CancelledError when cancelled.
        """
        args = ["--progress", "json", "up", "-d", "--remove-orphans"]
        if build:
            args.append("--build")
        if wait:
            args += ["--wait", "--wait-timeout", str(round(self.up_timeout_s))]
        parser = UpProgress(self.project)
        try:
            for line in self._stream("up", [*args, *(services or ())], cancel, self.up_timeout_s + 30):
                for event in parser.feed(line):
                    progress.emit(event)
        except LakehouseError as exc:
            if type(exc) is LakehouseError and parser.errors:  # Compose's own error, not a JSON line
                raise LakehouseError(
                    f"docker compose up failed: {parser.errors[-1]}", title="Compose error"
                ) from exc
            raise

    def down(self, *, volumes: bool = False) -> str:
        """Stop and remove the project's containers and network; its volumes only when ``volumes``."""
        args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
        return self._run("down", *args, timeout_s=max(self.timeout_s, 120.0))

    def control(self, service: str, action: Action) -> None:
        """``start`` / ``stop`` / ``restart`` one service's containers."""
        if action not in ("start", "stop", "restart"):
            raise LakehouseError(f"unknown service action {action!r}")
        self._run(action, action, service, timeout_s=max(self.timeout_s, 120.0))

    def logs(
        self, service: str, *, follow: bool = False, tail: int = 100, cancel: CancelToken | None = None
    ) -> Iterator[str]:
        """Log lines of a service (the last ``tail``, then new ones while ``follow``; ends on cancel)."""
        args = ["logs", "--no-log-prefix", "--tail", str(tail)] + (["--follow"] if follow else [])
        try:
            yield from self._stream("logs", [*args, service], cancel, None if follow else self.timeout_s)
        except CancelledError:
            return

    def _stream(
        self, command: str, args: Sequence[str], cancel: CancelToken | None, timeout_s: float | None
    ) -> Iterator[str]:
        argv = self.argv(*args)
        logger.debug("stream %s", " ".join(argv))
        with self._errors(command, argv[0], timeout_s):
            yield from self._runner.stream(argv, cancel, timeout_s)


def project_from_settings(docker: DockerSettings) -> ComposeProject:
    """The platform's Compose project: ``docker.compose_file`` plus ``docker.compose_files``, project
    ``docker.compose_project``, the env file ``docker.compose_env_file``."""
    return ComposeProject(
        docker.all_compose_files,
        docker.compose_project,
        binary=docker.compose_binary,
        timeout_s=docker.compose_timeout_s,
        up_timeout_s=docker.up_timeout_s,
        env_file=docker.compose_env_file,
    )
